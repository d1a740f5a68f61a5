"""The clinic's own logic, independent of Rasa: the profile, answers, follow-ups,
booking requests, contact details, conversation ids, the database tables, forgetting,
and staff email (notify.py, outbox.py)."""
