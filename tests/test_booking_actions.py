"""Booking form checks and sending the request: events, messages, the saved row, the email."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions.booking as booking
from actions.booking import ActionAskBookingReason, ActionSubmitBooking, ValidateBookingForm
from clinic_assistant.clinic.db import booking_requests


def tracker(text: str = "", intent: str = "nlu_fallback", slots: dict[str, Any] | None = None,
            entities: list[dict[str, Any]] | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9},
              "entities": entities or []}
    return Tracker(sender_id="patient-9", slots=slots or {}, latest_message=latest,
                   events=[{"event": "user", "text": text, "input_channel": "rest",
                            "parse_data": latest}],
                   paused=False, followup_action=None,
                   active_loop={"name": "booking_form"}, latest_action_name="action_listen")


def validate(slot: str, text: str, intent: str = "nlu_fallback",
             slots: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateBookingForm(), f"validate_{slot}")
    result = method(text, dispatcher, tracker(text, intent, slots), {})
    return result, [m.get("response") for m in dispatcher.messages]


def test_name() -> None:
    assert validate("booking_name", "my name is sam lee")[0] == {
        "booking_name": "Sam Lee", "contact_name": "Sam Lee"}
    result, messages = validate("booking_name", "780-555-0123")
    assert result == {"booking_name": None, "booking_misses": {"booking_name": 1}}
    assert messages == ["utter_booking_name_invalid"]


def test_contact_is_normalised_and_read_back() -> None:
    result, messages = validate("booking_contact", "(780) 555 0123")
    assert result == {"booking_contact": "given", "contact_phone": "+17805550123",
                      "contact_email": None}
    assert messages == ["utter_booking_contact_read_back"]


def test_third_miss_offers_a_person_or_cancelling() -> None:
    result, messages = validate("booking_contact", "call me on 555",
                                slots={"booking_misses": {"booking_contact": 2}})
    assert result["booking_misses"] == {"booking_contact": 3}
    assert messages == ["utter_booking_contact_invalid", "utter_booking_offer_help"]


def test_times_in_the_past_are_asked_again(profile_file: Path) -> None:
    result, messages = validate("booking_times", "yesterday")
    assert result["booking_times"] is None
    assert messages == ["utter_booking_times_past"]


def test_faq_question_mid_form_is_answered_and_the_field_asked_again(profile_file: Path) -> None:
    result, messages = validate("booking_times", "does it hurt?", intent="faq_comfort_and_safety")
    assert result == {"booking_times": None}
    assert messages == ["utter_faq_comfort_and_safety"]


def test_named_condition_is_confirmed_not_asked_again() -> None:
    slots = {"condition": "TMJ dysfunction"}
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAskBookingReason().run(dispatcher, tracker(slots=slots), {}))
    assert dispatcher.messages[0]["response"] == "utter_ask_booking_reason_confirm"
    assert dispatcher.messages[0]["condition"] == "TMJ dysfunction"
    assert validate("booking_reason", "yes", "affirm", slots)[0] == {
        "booking_reason": "TMJ dysfunction"}
    assert validate("booking_reason", "no", "deny", slots)[0] == {
        "booking_reason": None, "booking_reason_declined": True}


def test_no_at_confirmation_changes_one_field() -> None:
    result, messages = validate("booking_confirmed", "no", "deny")
    assert result == {"booking_confirmed": None, "booking_changing": True}
    assert messages == ["utter_booking_what_to_change"]
    result, _ = validate("booking_confirmed", "the time", slots={"booking_changing": True})
    assert result == {"booking_times": None, "booking_confirmed": None, "booking_changing": False}
    assert validate("booking_confirmed", "yes", "affirm")[0] == {"booking_confirmed": "yes"}


FILLED = {"booking_name": "Sam Lee", "contact_phone": "+17805550123", "contact_email": None,
          "booking_times": "Tuesday, December 1, afternoon", "booking_reason": "TMJ dysfunction",
          "booking_patient_type": "new", "booking_confirmed": "yes"}


async def submit() -> tuple[list[Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(dispatcher, tracker(slots=FILLED), {})
    await asyncio.gather(*booking._background)  # let the staff email finish
    return events, dispatcher.messages


async def test_request_is_saved_then_staff_emailed(
    profile_file: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, smtp_server: Any
) -> None:
    port, inbox = smtp_server
    url = database_url
    for key, value in {"DATABASE_URL": url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                       "SMTP_TLS": "none", "CLINIC_NOTIFY_EMAIL": "desk@clinic.test"}.items():
        monkeypatch.setenv(key, value)
    before = len(inbox.messages)
    events, messages = await submit()

    assert [m["response"] for m in messages] == ["utter_booking_sent"]
    assert messages[0]["contact"] == "(780) 555-0123"
    assert SlotSet("booking_name", None) in events and SlotSet("booking_confirmed", None) in events
    with sa.create_engine(url).connect() as conn:
        row = conn.execute(sa.select(booking_requests)).mappings().one()
    assert (row["conversation_id"], row["status"], row["name"], row["phone"]) == (
        "patient-9", "new", "Sam Lee", "+17805550123")
    assert row["preferred_times"] == "Tuesday, December 1, afternoon"
    assert row["notified_at"] is not None and row["notify_attempts"] == 1
    email = inbox.wait_for(before + 1)[-1]
    assert email["To"] == "desk@clinic.test"
    assert email["Subject"] == f"New booking request #{row['id']}: Sam Lee"
    assert "Preferred times: Tuesday, December 1, afternoon" in email.get_content()


async def test_failed_email_keeps_the_request_and_notes_the_error(
    profile_file: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.harness.servers import free_port

    url = database_url
    for key, value in {"DATABASE_URL": url, "SMTP_HOST": "127.0.0.1",
                       "SMTP_PORT": str(free_port()), "SMTP_TLS": "none",
                       "CLINIC_NOTIFY_EMAIL": "desk@clinic.test",
                       "NOTIFY_RETRY_SECONDS": "0.01,0.01"}.items():
        monkeypatch.setenv(key, value)
    _, messages = await submit()
    assert [m["response"] for m in messages] == ["utter_booking_sent"]
    with sa.create_engine(url).connect() as conn:
        row = conn.execute(sa.select(booking_requests)).mappings().one()
    assert row["status"] == "new" and row["notified_at"] is None
    assert row["notify_attempts"] == 3 and "ConnectionRefusedError" in row["notify_error"]


async def test_failed_save_is_never_reported_as_sent(
    profile_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/no-such-folder/clinic.db")
    _, messages = await submit()
    assert [m["response"] for m in messages] == ["utter_booking_save_failed"]
    assert messages[0]["clinic_phone"] == "(780) 555-0199"


async def test_submit_from_a_recorded_conversation(
    profile_file: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tracker recorded from a real booking conversation at its confirmation question
    (tests/fixtures/record_trackers.py); the patient says yes."""
    import json

    from tests.conftest import FIXTURES

    monkeypatch.setenv("DATABASE_URL", database_url)
    state = json.loads((FIXTURES / "trackers" / "booking_at_confirmation.json").read_text())
    slots = state["slots"]
    assert slots["requested_slot"] == "booking_confirmed"
    slots["booking_confirmed"] = "yes"

    dispatcher = CollectingDispatcher()
    await ActionSubmitBooking().run(dispatcher, Tracker.from_dict(state), {})
    await asyncio.gather(*booking._background)

    assert [m["response"] for m in dispatcher.messages] == ["utter_booking_sent"]
    with sa.create_engine(database_url).connect() as conn:
        row = conn.execute(sa.select(booking_requests)).mappings().one()
    assert (row["name"], row["phone"], row["preferred_times"], row["reason"],
            row["patient_type"], row["channel"]) == (
        slots["booking_name"], slots["contact_phone"], slots["booking_times"],
        "TMJ dysfunction", "new", "rest")
