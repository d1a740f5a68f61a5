"""End to end: the real Rasa server and action server, talked to over the REST channel."""
from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest
import requests

from clinic_assistant.clinic.profile import ClinicProfile
from clinic_assistant.settings import PROJECT_ROOT
from tests.harness.servers import Bot, running_bot, texts


def new_sender() -> str:
    return f"rest:test-{uuid.uuid4().hex[:12]}"


def test_first_reply_says_it_is_an_automated_assistant(bot: Bot) -> None:
    phone = ClinicProfile.load(PROJECT_ROOT / "clinic" / "profile.yml").phone
    replies = texts(bot.send(new_sender(), "hello"))
    assert len(replies) == 2
    assert "automated assistant" in replies[0]
    assert "not medical advice" in replies[0]
    assert phone in replies[0]
    assert replies[1].startswith("Hello!")


def test_the_first_contact_line_is_sent_once(bot: Bot) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    later = texts(bot.send(sender, "what is dry needling"))
    assert not any("automated assistant" in text for text in later)


@pytest.mark.parametrize(
    "question, response",
    [
        ("how does dry needling help blood flow", "utter_faq_blood_circulation"),
        ("what should I do after my session", "utter_faq_aftercare"),
        ("do you do IMS", "utter_faq_ims"),
        ("what are your hours", "utter_faq_hours"),
        ("are you a real person?", "utter_faq_bot_identity"),
        ("how much is a session", "utter_faq_price"),
    ],
)
def test_faq_question_gets_its_answer(
    bot: Bot, expected_text: Callable[[str], str], question: str, response: str
) -> None:
    replies = texts(bot.send(new_sender(), question))
    assert replies[-1] == expected_text(response)


def test_clinic_facts_come_from_the_profile(bot: Bot) -> None:
    profile = ClinicProfile.load(PROJECT_ROOT / "clinic" / "profile.yml")
    reply = texts(bot.send(new_sender(), "where is the clinic"))[-1]
    assert profile.address in reply
    hours = texts(bot.send(new_sender(), "when are you open"))[-1]
    assert profile.hours_text() in hours
    assert "{" not in reply + hours  # no unfilled placeholders


@pytest.mark.parametrize(
    "question, response",
    [
        ("my jaw clicks when I chew, would needling help?", "utter_condition_tmj"),
        ("I sit at a desk all day and my neck is killing me, would needling help?",
         "utter_condition_chronic_muscle_pain"),
        ("can it help with shooting pain down my leg", "utter_condition_sciatica"),
        ("would dry needling help my fibro", "utter_condition_fibromyalgia"),
        ("can dry needling help my plantar fasciitis", "utter_condition_unlisted"),
    ],
)
def test_condition_question_gets_that_conditions_answer(
    bot: Bot, expected_text: Callable[[str], str], question: str, response: str
) -> None:
    replies = bot.send(new_sender(), question)
    assert replies[-1]["text"] == expected_text(response)


def test_unlisted_condition_is_never_a_yes(bot: Bot) -> None:
    reply = texts(bot.send(new_sender(), "will dry needling cure my arthritis?"))[-1]
    assert not reply.lower().startswith("yes")
    assert "assessed by a physiotherapist" in reply


def test_book_button_leads_to_booking(bot: Bot, expected_text: Callable[[str], str]) -> None:
    sender = new_sender()
    answer = bot.send(sender, "can dry needling help with migraines")[-1]
    buttons = answer.get("buttons") or []
    assert {"title": "Book an assessment", "payload": "/request_booking"} in buttons
    # the patient clicks the button: the channel sends its payload
    assert texts(bot.send(sender, buttons[0]["payload"]))[-1] == expected_text(
        "utter_ask_booking_name"
    )


def test_conversation_survives_a_restart(tmp_path: Path) -> None:
    """Conversations live in the SQL tracker store, not in the server's memory."""
    db = tmp_path / "tracker.db"
    sender = new_sender()
    with running_bot(db) as first:
        first.send(sender, "hello")
        first.send(sender, "what is dry needling")
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT COUNT(*) FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
        ).fetchone()[0]
    assert stored == 2
    with running_bot(db) as second:
        replies = texts(second.send(sender, "does it hurt"))
    # same conversation: no new session, so no new first-contact line
    assert not any("automated assistant" in text for text in replies)
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT COUNT(*) FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
        ).fetchone()[0]
    assert stored == 3


def test_a_message_sent_again_with_its_id_is_handled_once(bot: Bot) -> None:
    """A client that lost the answer (time-out, a replica that died) sends the same
    message again with the same id: the stored replies come back, nothing twice."""
    sender = new_sender()
    bot.send(sender, "hi")
    body = {"sender": sender, "message": "what is dry needling", "message_id": "m-42"}
    first = requests.post(bot.webhook, json=body, timeout=30)
    again = requests.post(bot.webhook, json=body, timeout=30)
    assert first.status_code == again.status_code == 200
    assert texts(first.json()) and texts(again.json()) == texts(first.json())
    assert again.headers.get("X-Clinic-Replayed") == "true"
    assert bot.user_texts(sender) == ["hi", "what is dry needling"]
    # a new id is a new message
    third = requests.post(bot.webhook, json={**body, "message_id": "m-43"}, timeout=30)
    assert "X-Clinic-Replayed" not in third.headers
    assert bot.user_texts(sender) == ["hi", "what is dry needling", "what is dry needling"]


@pytest.mark.parametrize("message_id", [42, "", "x" * 101])
def test_a_malformed_message_id_is_refused_with_the_reason(bot: Bot, message_id: object) -> None:
    answer = requests.post(bot.webhook, json={"sender": new_sender(), "message": "hi", "message_id": message_id}, timeout=30)
    assert answer.status_code == 400
    assert "message_id" in answer.json()["error"]


def test_the_same_message_twice_at_once_is_handled_once(bot: Bot) -> None:
    """Two copies arriving together (a client retrying too early, or two replicas):
    the check runs under the conversation's lock, so the second is answered from the
    record."""
    from concurrent.futures import ThreadPoolExecutor

    sender = new_sender()
    bot.send(sender, "hi")
    body = {"sender": sender, "message": "how long does a session take", "message_id": "twice"}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: requests.post(bot.webhook, json=body, timeout=30), range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    assert texts(answers[0].json()) == texts(answers[1].json()) != []
    assert sorted(a.headers.get("X-Clinic-Replayed", "") for a in answers) == ["", "true"]
    assert bot.user_texts(sender) == ["hi", "how long does a session take"]


def forget_while_talking(bot: Bot, forget: Callable[[str], None]) -> list[str]:
    """Messages in a loop in one conversation while it is forgotten; returns the
    patient messages stored afterwards."""
    sender = new_sender()
    for number in range(3):
        bot.send(sender, f"before {number}: what is dry needling")
    stop = threading.Event()

    def talk() -> None:
        for number in range(300):  # bounded: at most 300 turns
            if stop.is_set():
                return
            bot.post(sender, f"during {number}: does it hurt")

    talker = threading.Thread(target=talk)
    talker.start()
    try:
        time.sleep(0.5)
        forget(sender)
        time.sleep(0.5)
    finally:
        stop.set()
        talker.join(timeout=120)
    return bot.user_texts(sender)


def test_forget_waits_for_a_turn_in_progress(bot: Bot) -> None:
    """A turn that loaded the conversation before it was forgotten must not write it
    back afterwards (the Rasa server deletes it under the conversation's lock)."""
    def forget(sender: str) -> None:
        answer = requests.post(f"{bot.rasa.url}/webhooks/staff/forget", timeout=60,
                               headers={"Authorization": f"Bearer {os.environ['STAFF_API_TOKEN']}"},
                               json={"conversation_ids": [sender], "staff_name": "Anna"})
        assert answer.status_code == 200 and answer.json()["deleted"] == 1

    for _ in range(3):
        stored = forget_while_talking(bot, forget)
        assert not [text for text in stored if text.startswith("before")]
