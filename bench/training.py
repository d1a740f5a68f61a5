"""Training time from scratch, and the time from editing an answer's text to the
running bot using it."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from clinic_assistant.local_servers import PROJECT, base_env, free_port

EDITED_RESPONSE = "utter_faq_what_is_dry_needling"
QUESTION = "What is dry needling?"


def train(out: Path, domain: Path, cache: Path | None = None) -> tuple[float, str]:
    env = base_env(**({"RASA_CACHE_DIRECTORY": str(cache)} if cache else {}))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", str(domain),
         "--data", "data", "--out", str(out), "--fixed-model-name", "clinic"],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=True,
    )
    return time.monotonic() - started, done.stdout + done.stderr


def full_training_seconds() -> float:
    """`rasa train` with an empty cache (nothing reused), this project's config."""
    with tempfile.TemporaryDirectory() as tmp:
        seconds, _ = train(Path(tmp) / "models", PROJECT / "domain", cache=Path(tmp) / "cache")
    return seconds


def answer_edit_seconds(action_url: str, tracker_db: Path) -> dict[str, Any]:
    """Start the Rasa server with its answer texts in a copy of domain/, edit one answer
    there, and time until the running bot answers with the new text (no retraining,
    no restart: clinic_assistant/nlg.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        domain = Path(tmp) / "domain"
        shutil.copytree(PROJECT / "domain", domain)
        faq = domain / "faq.yml"
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "clinic_assistant.server", "--model", str(PROJECT / "models" / "clinic.tar.gz"),
             "--interface", "127.0.0.1", "--port", str(port), "--credentials", "credentials.yml",
             "--endpoints", "endpoints.yml"],
            cwd=PROJECT, env=base_env(DATABASE_URL=f"sqlite:///{tracker_db}", ACTION_SERVER_URL=action_url,
                                      RESPONSES_DIR=str(domain)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"

        def answer() -> str:
            replies = requests.post(url, json={"sender": f"edit-{time.time()}", "message": QUESTION}, timeout=5).json()
            return " ".join(r.get("text", "") for r in replies)

        try:
            deadline = time.monotonic() + 180
            while True:  # the server is up and answering (not counted)
                try:
                    answer()
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the Rasa server did not start") from None
                    time.sleep(0.2)
            marker = f"(edited {time.time():.0f})"
            pattern = re.compile(rf"({EDITED_RESPONSE}:\n\s+- text: \")")
            text = faq.read_text()
            assert pattern.search(text), EDITED_RESPONSE
            started = time.monotonic()
            faq.write_text(pattern.sub(lambda m: m.group(1) + marker + " ", text, count=1))
            while marker not in answer():
                if time.monotonic() - started > 120:
                    raise RuntimeError("the edited answer never showed")
                time.sleep(0.05)
            return {"seconds": time.monotonic() - started, "nlu_retrained": False,
                    "how": "edit domain/faq.yml; the running bot reads it (no retrain, no restart)"}
        finally:
            process.terminate()
            process.wait(15)
