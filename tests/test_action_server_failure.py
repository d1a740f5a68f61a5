"""When the action server is down or hangs, the patient gets an apology with the
clinic's phone number, never silence."""
from __future__ import annotations

import socket
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from tests.harness.servers import (
    free_port,
    running_bot,
    start_rasa_server,
    texts,
)
from clinic_assistant.clinic.profile import ClinicProfile
from clinic_assistant.clinic.session import action_failed_text
from clinic_assistant.settings import PROJECT_ROOT

PROFILE = ClinicProfile.load(PROJECT_ROOT / "clinic" / "profile.yml")


def test_action_server_stopped_mid_conversation(
    tmp_path: Path, expected_text: Callable[[str], str]
) -> None:
    sender = f"rest:down-{uuid.uuid4().hex[:10]}"
    with running_bot(tmp_path / "tracker.db") as bot:
        bot.send(sender, "hello")
        bot.actions.kill()
        # a condition answer needs the action server
        replies = texts(bot.send(sender, "can needling help my sciatica", timeout=10))
        assert replies == [action_failed_text(PROFILE)]
        assert PROFILE.phone in replies[0]
        # answers that need no action server still work
        assert texts(bot.send(sender, "where are you located", timeout=10)) == [
            expected_text("utter_faq_location")
        ]
        # and so do red flags
        assert texts(bot.send(sender, "I have chest pain", timeout=10)) == [
            expected_text("utter_red_flag_emergency")
        ]


def test_hung_action_server_gets_the_apology_and_clinic_facts_still_show(
    tmp_path: Path, expected_text: Callable[[str], str]
) -> None:
    # A server that accepts connections and never answers.
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    url = f"http://127.0.0.1:{hung.getsockname()[1]}/webhook"
    sender = f"rest:hung-{uuid.uuid4().hex[:10]}"
    try:
        with ExitStack() as stack:
            rasa = stack.enter_context(
                start_rasa_server(free_port(), 0, tmp_path / "tracker.db", action_url=url)
            )
            import requests

            webhook = f"{rasa.url}/webhooks/rest/webhook"
            first = requests.post(webhook, json={"sender": sender, "message": "where are you"},
                                  timeout=10).json()
            # session start timed out: apology first, then the answer, with the clinic's
            # real address (the session still got the clinic's facts)
            assert [m["text"] for m in first] == [
                action_failed_text(PROFILE), expected_text("utter_faq_location")
            ]
            assert "None" not in first[1]["text"]
    finally:
        hung.close()
