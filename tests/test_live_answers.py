"""An edited answer text is used by the running bot without retraining or restarting
(clinic_assistant/rasa/nlg.py)."""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from tests.harness.servers import PROJECT, running_bot, texts

QUESTION = "What is dry needling?"


def edit_answer(domain: Path, new_text: str) -> None:
    faq = domain / "faq.yml"
    pattern = re.compile(r'(utter_faq_what_is_dry_needling:\n\s+- text: )"[^"\n]*"')
    assert pattern.search(faq.read_text())
    faq.write_text(pattern.sub(lambda m: m.group(1) + f'"{new_text}"', faq.read_text(), count=1))


def answer_within(bot: Any, expected: str, seconds: float = 10) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if expected in texts(bot.send(f"live-{time.time()}", QUESTION)):
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"the bot never said {expected!r}")


def test_an_edited_answer_is_live_without_retraining(
    tmp_path: Path, expected_text: Callable[[str], str]
) -> None:
    domain = tmp_path / "domain"
    shutil.copytree(PROJECT / "domain", domain)
    with running_bot(tmp_path / "tracker.db", rasa_env={"RESPONSES_DIR": str(domain)}) as bot:
        assert expected_text("utter_faq_what_is_dry_needling") in texts(bot.send("before", QUESTION))
        edit_answer(domain, "Dry needling (edited): fine needles ease tight muscles. Ask us at {clinic_phone}.")
        answer_within(bot, "Dry needling (edited): fine needles ease tight muscles. Ask us at (780) 555-0100.")
        # a broken file: the last good texts stay, and the log says why
        (domain / "faq.yml").write_text("responses: [this is: not: valid")
        time.sleep(1.5)
        assert "Dry needling (edited)" in texts(bot.send("after-broken", QUESTION))[-1]
        assert "could not be loaded" in bot.rasa.log_tail(200)
