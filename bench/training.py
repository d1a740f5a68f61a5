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

from tests.harness.servers import PROJECT, base_env, free_port, start_rasa_server

EDITED_RESPONSE = "utter_faq_what_is_dry_needling"
QUESTION = "What is dry needling?"


def train(out: Path, domain: Path, cache: Path | None = None) -> float:
    env = base_env(**({"RASA_CACHE_DIRECTORY": str(cache)} if cache else {}))
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", str(domain),
         "--data", "data", "--out", str(out), "--fixed-model-name", "clinic"],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=True,
    )
    return time.monotonic() - started


def full_training_seconds() -> float:
    """`rasa train` with an empty cache (nothing reused), this project's config."""
    with tempfile.TemporaryDirectory() as tmp:
        return train(Path(tmp) / "models", PROJECT / "domain", cache=Path(tmp) / "cache")


def answer_edit_seconds(action_url: str, tracker_db: Path) -> dict[str, Any]:
    """Start the Rasa server with its answer texts in a copy of domain/, edit one answer
    there, and time until the running bot answers with the new text (no retraining,
    no restart: clinic_assistant/rasa/nlg.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        domain = Path(tmp) / "domain"
        shutil.copytree(PROJECT / "domain", domain)
        faq = domain / "faq.yml"
        with start_rasa_server(free_port(), 0, tracker_db, action_url=action_url,
                               RESPONSES_DIR=str(domain)) as server:  # start-up not counted
            url = f"{server.url}/webhooks/rest/webhook"

            def answer() -> str:
                replies = requests.post(url, json={"sender": f"edit-{time.time()}", "message": QUESTION},
                                        timeout=5).json()
                return " ".join(r.get("text", "") for r in replies)

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
            return {"seconds": time.monotonic() - started,
                    "how": "edit domain/faq.yml; the running bot reads it (no retrain, no restart)"}
