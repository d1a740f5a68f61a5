"""New questions from real conversations, taught to the bot while it runs (issue #19, 5).

On "Improve the bot" staff group messages they marked as new questions into a *new
topic* (a name, example messages, the answer text) or add marked messages as *new
wordings* of an existing answer (``additions.py``). A clinician other than the author
approves or rejects each proposal. Approved additions are taught by the background
trainer (``python -m clinic_assistant.training``, a process of ``make run``;
``worker.py``): it trains a model on the repository's data plus every approved addition,
checks it against the frozen test set and the test stories (a drop refuses the model,
with the reason), and has every running Rasa server load it through the staff channel
(``POST /webhooks/staff/model``): loaded beside the old one, then swapped in, so no
conversation is dropped and no restart is needed. Each run's steps are shown in the
console.
"""
