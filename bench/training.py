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
    """Edit one answer's text (in a copy of domain/), retrain with Rasa's cache, restart
    the Rasa server on the new model, and wait until it answers with the new text."""
    with tempfile.TemporaryDirectory() as tmp:
        domain = Path(tmp) / "domain"
        shutil.copytree(PROJECT / "domain", domain)
        faq = domain / "faq.yml"
        marker = f"(edited {time.time():.0f})"
        text = faq.read_text()
        pattern = re.compile(rf"({EDITED_RESPONSE}:\n\s+- text: \")")
        assert pattern.search(text), EDITED_RESPONSE
        started = time.monotonic()
        faq.write_text(pattern.sub(lambda m: m.group(1) + marker + " ", text, count=1))
        retrain_seconds, log = train(Path(tmp) / "models", domain)
        nlu_retrained = "Starting to train component 'ClinicIntentClassifier'" in log
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "clinic_assistant.server", "--model", str(Path(tmp) / "models" / "clinic.tar.gz"),
             "--interface", "127.0.0.1", "--port", str(port), "--credentials", "credentials.yml",
             "--endpoints", "endpoints.yml"],
            cwd=PROJECT, env=base_env(DATABASE_URL=f"sqlite:///{tracker_db}", ACTION_SERVER_URL=action_url),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            while time.monotonic() - started < 300:
                try:
                    answer = requests.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                           json={"sender": f"edit-{time.time()}", "message": QUESTION}, timeout=5)
                    if answer.status_code == 200 and any(marker in r.get("text", "") for r in answer.json()):
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError("the edited answer never showed")
            return {"seconds": time.monotonic() - started, "retrain_seconds": retrain_seconds,
                    "nlu_retrained": nlu_retrained, "how": "retrain with cache + restart the Rasa server"}
        finally:
            process.terminate()
            process.wait(15)
