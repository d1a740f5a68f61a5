"""python -m clinic_assistant.training: the background trainer (worker.py)."""
from clinic_assistant.training.worker import main

main()
