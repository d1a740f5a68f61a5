"""The clinic assistant's action server (``rasa run actions --actions actions``).

One module per concern; each action is a thin class over tested functions in
``clinic_assistant``.
"""
from clinic_assistant.settings import Settings

# At the action server's start: a setting that cannot be read (a port that is not a
# number) stops it here, naming the variable, rather than failing every action.
Settings.from_env()
