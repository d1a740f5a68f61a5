"""Booking requests end to end over REST: saved in the database, emailed to staff."""
from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Callable

from tests.harness.servers import Bot, running_bot, start_action_server, texts
from tests.conftest import smtp_env

Say = Callable[[str], list[str]]


def conversation(bot: Bot) -> tuple[str, Say]:
    sender = f"rest:book-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "hi")  # past the first-contact line
    return sender, lambda message: texts(bot.send(sender, message))


def rows(db: Path, sender: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute(
                "SELECT name, phone, email, preferred_times, reason, patient_type, status, id"
                " FROM booking_requests WHERE conversation_id = ?", (sender,)).fetchall()
        except sqlite3.OperationalError:
            return []  # no request was ever saved in this database


def fill_to_confirmation(say: Say) -> list[str]:
    say("I'd like to book")
    say("Sam Lee")
    say("sam.lee@example.com")
    say("Tuesday afternoon")
    say("lower back pain")
    return say("first time")


def test_happy_path_saves_the_request_and_emails_staff(
    bot: Bot, expected_text: Callable[[str], str], smtp_server: Any
) -> None:
    _, inbox = smtp_server
    before = len(inbox.messages)
    sender, say = conversation(bot)
    summary = fill_to_confirmation(say)[-1]
    assert summary.startswith("Here's your request:")
    assert "Preferred times: Tuesday, " in summary and "afternoon" in summary
    assert "Phone or email: sam.lee@example.com" in summary
    sent = say("yes")[-1]
    assert "sent to" in sent and "isn't a confirmed appointment" in sent
    assert not re.search(r"\b(is|are|has been|have been|you're|you are) (now )?(booked|confirmed)\b",
                         sent)

    saved = rows(bot.tracker_db, sender)
    assert len(saved) == 1
    name, phone, email, times, reason, kind, status, request_id = saved[0]
    assert (name, phone, email, reason, kind, status) == (
        "Sam Lee", None, "sam.lee@example.com", "lower back pain", "new", "new")
    assert times.startswith("Tuesday, ") and times.endswith("afternoon")

    inbox.wait_for(before + 1)
    mail = [m for m in inbox.messages if f"conversation {sender} " in m.get_content()]
    assert len(mail) == 1
    assert mail[0]["Subject"] == f"New booking request #{request_id}: Sam Lee"
    body = mail[0].get_content()
    assert "Name: Sam Lee" in body and "Reason for the visit: lower back pain" in body
    assert "nothing has been booked yet" in body


def test_each_bad_answer_gets_a_reask_that_explains(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    _, say = conversation(bot)
    say("I'd like to book an appointment this week")
    assert say("12345") == [expected_text("utter_booking_name_invalid"),
                            expected_text("utter_ask_booking_name")]
    say("Priya Shah")
    assert say("call me on 555") == [expected_text("utter_booking_contact_invalid"),
                                     expected_text("utter_ask_booking_contact")]
    assert say("780.555.0142")[0] == "Thanks, I have (780) 555-0142."
    assert say("yesterday") == [expected_text("utter_booking_times_past"),
                                expected_text("utter_ask_booking_times")]
    say("mornings next week")
    say("sciatica")
    assert say("dunno") == [expected_text("utter_booking_patient_type_invalid"),
                            expected_text("utter_ask_booking_patient_type")]


def test_three_misses_offer_a_person(bot: Bot, expected_text: Callable[[str], str]) -> None:
    _, say = conversation(bot)
    say("book me in pls")
    say("Sam Lee")
    say("abc")
    say("still abc")
    third = say("no idea")
    assert expected_text("utter_booking_offer_help") in third


def test_cancel_leaves_the_form_and_saves_nothing(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender, say = conversation(bot)
    say("I'd like to book")
    say("Sam Lee")
    assert say("never mind") == [expected_text("utter_booking_cancelled")]
    assert rows(bot.tracker_db, sender) == []
    assert say("where are you located") == [expected_text("utter_faq_location")]


def test_faq_question_mid_form_is_answered_and_the_form_resumes(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    _, say = conversation(bot)
    say("I'd like to book")
    say("Sam Lee")
    say("780-555-0123")
    assert say("how much does it cost?") == [expected_text("utter_faq_price"),
                                             expected_text("utter_ask_booking_times")]
    assert say("Friday morning")[0].startswith("Got it: Friday, ")


def test_condition_named_earlier_is_confirmed_not_asked(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    _, say = conversation(bot)
    say("my jaw clicks, would needling help?")
    say("book an assessment")
    say("Sam Lee")
    say("780-555-0123")
    reply = say("any time")
    assert reply[-1] == "You mentioned TMJ dysfunction. Is that the reason for your visit?"
    assert say("yes") == [expected_text("utter_ask_booking_patient_type")]


def test_no_at_confirmation_changes_one_field(bot: Bot) -> None:
    sender, say = conversation(bot)
    fill_to_confirmation(say)
    say("no")
    say("the time")
    summary = say("thursday morning")[-1]
    assert "Preferred times: Thursday, " in summary and "morning" in summary
    assert "Name: Sam Lee" in summary  # the rest was kept
    say("yes")
    saved = rows(bot.tracker_db, sender)
    assert len(saved) == 1 and saved[0][3].startswith("Thursday, ")


def test_red_flag_interrupts_the_booking(bot: Bot, expected_text: Callable[[str], str]) -> None:
    sender, say = conversation(bot)
    say("I'd like to book")
    say("Sam Lee")
    assert say("I suddenly have chest pain") == [expected_text("utter_red_flag_emergency")]
    assert say("where are you located") == [expected_text("utter_faq_location")]
    assert rows(bot.tracker_db, sender) == []


def test_booking_survives_an_action_server_restart(tmp_path: Path, smtp_server: Any) -> None:
    port, _ = smtp_server
    db = tmp_path / "tracker.db"
    env = smtp_env(port)
    with running_bot(db, **env) as bot:
        sender, say = conversation(bot)
        say("I'd like to book")
        say("Sam Lee")
        say("780-555-0123")
        bot.actions.stop()
        action_port = int(bot.actions.url.rsplit(":", 1)[1])
        with start_action_server(action_port, DATABASE_URL=f"sqlite:///{db}", **env):
            say("Tuesday afternoon")
            say("neck pain")
            assert say("returning")[-1].startswith("Here's your request:")
            say("yes")
        saved = rows(db, sender)
    assert len(saved) == 1 and saved[0][:2] == ("Sam Lee", "+17805550123")


def test_conversation_and_booking_in_postgresql(
    tmp_path: Path, postgres_server: str, smtp_server: Any
) -> None:
    """The whole bot on PostgreSQL through DATABASE_URL: one database for both."""
    import sqlalchemy as sa

    port, _ = smtp_server
    url = f"{postgres_server.rsplit('/', 1)[0]}/postgres"
    with running_bot(tmp_path / "unused.db", database_url=url, **smtp_env(port)) as bot:
        sender, say = conversation(bot)
        fill_to_confirmation(say)
        assert "sent to" in say("yes")[-1]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        events = conn.execute(sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :s"),
                              {"s": sender}).scalar()
        request = conn.execute(sa.text("SELECT name, status FROM booking_requests"
                                       " WHERE conversation_id = :s"), {"s": sender}).one()
    engine.dispose()
    assert events > 10
    assert tuple(request) == ("Sam Lee", "new")
    assert not (tmp_path / "unused.db").exists()


def test_a_reply_is_not_taken_as_a_name_time_or_reason(bot: Bot, expected_text: Callable[[str], str]) -> None:
    """"yes" to "what name should the request be under?" gets a re-ask that says why."""
    sender, say = conversation(bot)
    say("I'd like to book")
    name_again = [expected_text("utter_booking_name_not_a_name"), expected_text("utter_ask_booking_name")]
    assert say("yes") == name_again
    assert say("ok thanks") == name_again
    assert say("Sam Lee") == [expected_text("utter_ask_booking_contact")]
    say("sam.lee@example.com")
    assert say("ok")[0] == expected_text("utter_booking_times_invalid")
    say("Tuesday afternoon")
    assert say("yes")[0] == expected_text("utter_booking_reason_invalid")
