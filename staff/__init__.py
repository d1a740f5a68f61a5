"""The staff console: conversation logs, handoff and booking queues, live replies,
marking messages for training, privacy tools. A Flask app over the same database
the bot writes (Rasa's tracker store and the project's tables); `python -m staff`."""
