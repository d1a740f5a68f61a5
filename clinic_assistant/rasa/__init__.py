"""The project's extensions of Rasa: NLU components, the dialogue policy, tracker and lock
stores, answer texts read at run time, the server entry point and every change to
Rasa's classes (patches.py)."""
