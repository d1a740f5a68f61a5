"""The test harness: real servers on loopback for the tests and the benchmarks (the
Rasa and action servers, the two-replica cluster behind nginx with PostgreSQL and
Redis, a throwaway PostgreSQL server). Not part of the product, not in the image."""
