"""The clinic assistant's action server (``rasa run actions --actions actions``).

One module per concern; each action is a thin class over tested functions in
``clinic_assistant``.
"""
