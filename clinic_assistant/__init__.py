"""Shared code of the GP Pain & Physiotherapy patient assistant.

Imported by the Rasa server (custom NLU components), the action server, the tests and
the benchmark scripts. Nothing here does work at import time.
"""
