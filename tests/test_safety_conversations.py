"""Safety end to end over REST: handoff, quiet mode, "did you mean", never inventing."""
from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Callable

import pytest

from tests.harness.servers import Bot, texts
from clinic_assistant.clinic.profile import ClinicProfile
from clinic_assistant.settings import PROJECT_ROOT

PROFILE = ClinicProfile.load(PROJECT_ROOT / "clinic" / "profile.yml")


def new_sender() -> str:
    return f"rest:safe-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    "request_text",
    ["talk to a person", "can someone from the clinic call me", "this isn't helping"],
)
def test_explicit_request_hands_off_at_once(
    bot: Bot, expected_text: Callable[[str], str], request_text: str
) -> None:
    sender = new_sender()
    bot.send(sender, "what is dry needling")
    assert texts(bot.send(sender, request_text)) == [expected_text("utter_ask_handoff_contact")]


def test_handoff_records_a_ticket_and_then_stays_quiet(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "my jaw clicks, can needling help?")
    bot.send(sender, "I want to talk to a human")
    replies = bot.send(sender, "Sam Lee 780-555-0123")
    text = replies[0]["text"]
    assert "passed your conversation to our clinic team" in text
    assert "(780) 555-0123" in text
    handoff = next(r["custom"]["handoff"] for r in replies if "custom" in r)
    assert handoff["status"] == "waiting_for_staff"

    with sqlite3.connect(bot.tracker_db) as conn:
        ticket = conn.execute(
            "SELECT id, channel, reason, contact_name, contact_phone, last_messages, status"
            " FROM handoff_tickets WHERE conversation_id = ?", (sender,)
        ).fetchone()
    assert ticket is not None
    assert ticket[0] == handoff["ticket_id"]
    assert ticket[1:5] == ("rest", "patient_asked", "Sam Lee", "+17805550123")
    assert "my jaw clicks" in ticket[5] and ticket[6] == "new"

    # while staff have it: a short acknowledgement only, no FAQ answer
    assert texts(bot.send(sender, "what is dry needling")) == [
        expected_text("utter_handoff_pending")
    ]
    # but a red flag still gets emergency care
    assert texts(bot.send(sender, "now I have chest pain")) == [
        expected_text("utter_red_flag_emergency")
    ]


def test_contact_can_be_skipped(bot: Bot) -> None:
    sender = new_sender()
    bot.send(sender, "can a person call me back")
    replies = texts(bot.send(sender, "skip"))
    assert "passed your conversation to our clinic team" in replies[0]


def test_bad_contact_gets_a_reask_that_explains_the_format(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "talk to someone")
    assert texts(bot.send(sender, "my number is 12345")) == [
        expected_text("utter_handoff_contact_invalid"), expected_text("utter_ask_handoff_contact")
    ]


def test_red_flag_while_giving_contact_details_interrupts(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "talk to someone")
    assert texts(bot.send(sender, "actually I can't breathe")) == [
        expected_text("utter_red_flag_emergency")
    ]
    # the handoff questions ended: the next question is answered normally
    assert texts(bot.send(sender, "where are you located")) == [expected_text("utter_faq_location")]


def test_did_you_mean_then_a_person(bot: Bot, expected_text: Callable[[str], str]) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    # words of several answers at once: no answer is likely enough (< 0.15, config.yml;
    # at that threshold few messages are this unsure: these two were found by trying,
    # and more training data can make one of them sure enough: then find another;
    # "feel blood stuff" became a circulation question with round 12's training data)
    first = bot.send(sender, "stuff long time")
    assert first[0]["text"] == expected_text("utter_did_you_mean")
    buttons = first[0]["buttons"]
    assert 2 <= len(buttons) <= 4
    assert buttons[-1] == {"title": "Something else", "payload": "/request_human"}
    second = texts(bot.send(sender, "feel long thing"))
    assert second == [expected_text("utter_clarify_handoff"),
                      expected_text("utter_ask_handoff_contact")]


def test_a_did_you_mean_choice_gets_that_answer(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    assert texts(bot.send(sender, "/faq_aftercare")) == [expected_text("utter_faq_aftercare")]


NEVER_INVENT = [
    "how much does dry needling cost",
    "what's the price of a first visit",
    "is it $80 a session?",
    "do you direct bill blue cross",
    "is dry needling covered by alberta health",
    "will my insurance cover it",
    "how many sessions will I need for my back",
    "how long is the wait to get in",
    "are you open at 7pm on thursday",
    "are you open sunday morning",
    "should I stop taking my blood thinners before needling",
    "how much ibuprofen can I take after",
    "is my pain serious",
]
_MONEY = re.compile(r"\$\s*\d|\d+\s*(dollars|bucks|cad)\b", re.IGNORECASE)
_COVERAGE = re.compile(
    r"\b(is|are|it's|will be|would be)\s+(fully |partly |partially )?covered\b|\bwe (do|can) "
    r"direct bill|\bwill cover\b|\bcovers\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b\d{1,2}(:\d{2})?\s*(a\.m\.|p\.m\.|am|pm)\b", re.IGNORECASE)
_DOSE = re.compile(r"\b\d+\s*(mg|milligrams|pills|tablets)\b", re.IGNORECASE)


@pytest.mark.parametrize("question", NEVER_INVENT)
def test_never_invents_a_price_coverage_time_or_dose(bot: Bot, question: str) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    reply = " ".join(texts(bot.send(sender, question)))
    assert reply
    assert not _MONEY.search(reply), reply
    assert not _COVERAGE.search(reply), reply
    assert not _DOSE.search(reply), reply
    profile_hours = PROFILE.hours_text()
    for clock in _CLOCK.finditer(reply):
        assert clock.group(0) in profile_hours, f"{clock.group(0)!r} is not in the profile"
