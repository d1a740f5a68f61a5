"""The clinic assistant's action server (``rasa run actions --actions actions``).

One module per concern; each action is a thin class over tested functions in
``clinic_assistant``.
"""
from clinic_assistant.settings import Settings

# At the action server's start: a setting that cannot be read (a port that is not a
# number) stops it here, naming the variable, rather than failing every action.
Settings.from_env()

# dateparser and the holiday tables are slow the first time only: load them now, not in
# the first patient's hours or booking question (which must answer within the timeout).
from clinic_assistant.clinic.hours import load_date_readers  # noqa: E402

load_date_readers()
