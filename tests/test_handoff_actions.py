"""Handoff and "did you mean" actions: events, messages and the saved ticket."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions.handoff as handoff
from actions.clarify import ActionClarify
from actions.handoff import ActionHandoff, ValidateHandoffForm
from clinic_assistant.clinic.db import handoff_tickets

MONDAY_10AM_EDMONTON = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)
SUNDAY_NOON_EDMONTON = datetime(2026, 11, 22, 19, 0, tzinfo=timezone.utc)


def domain_as_sent() -> dict[str, Any]:
    """The domain as the Rasa server sends it with every action request."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(Path(__file__).resolve().parent.parent / "domain")).as_dict()


def tracker(events: list[dict[str, Any]], slots: dict[str, Any] | None = None,
            latest: dict[str, Any] | None = None) -> Tracker:
    return Tracker(
        sender_id="patient-7", slots=slots or {}, latest_message=latest or {},
        events=events, paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen",
    )


CONVERSATION = [
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "my jaw clicks", "input_channel": "rest",
     "parse_data": {"intent": {"name": "ask_condition"}}},
    {"event": "bot", "text": "Yes, TMJ (jaw) dysfunction ..."},
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "talk to someone", "input_channel": "rest",
     "parse_data": {"intent": {"name": "request_human"}}},
]


@pytest.fixture
def database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> sa.engine.Engine:
    """The database the action writes to: SQLite, then PostgreSQL."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return sa.create_engine(database_url)


def validate(text: str, slots: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    dispatcher = CollectingDispatcher()
    result = ValidateHandoffForm().validate_handoff_contact(
        text, dispatcher, tracker([], slots), {}
    )
    return result, [m["response"] for m in dispatcher.messages]


def test_contact_with_name_and_phone_is_taken() -> None:
    result, messages = validate("Sam Lee 780-555-0123")
    assert result == {"handoff_contact": "given", "contact_name": "Sam Lee",
                      "contact_phone": "+17805550123", "contact_email": None}
    assert messages == []


def test_skip_is_fine() -> None:
    assert validate("skip") == ({"handoff_contact": "skipped"}, [])


def test_bad_contact_is_asked_again_with_the_format_then_let_go() -> None:
    first, messages = validate("my number is abc")
    assert first == {"handoff_contact": None, "handoff_contact_misses": 1}
    assert messages == ["utter_handoff_contact_invalid"]
    second, messages = validate("still abc", {"handoff_contact_misses": 1})
    assert second == {"handoff_contact": "skipped", "handoff_contact_misses": 2}
    assert messages == ["utter_handoff_without_contact"]


async def test_handoff_during_hours_saves_the_ticket_and_says_staff_will_reply(
    profile_file: Path, database: sa.engine.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handoff, "utc_now", lambda: MONDAY_10AM_EDMONTON)
    dispatcher = CollectingDispatcher()
    slots = {"contact_name": "Sam Lee", "contact_phone": "+17805550123", "urgent": False}
    events = await ActionHandoff().run(dispatcher, tracker(CONVERSATION, slots), domain_as_sent())

    assert SlotSet("handoff_active", True) in events
    assert dispatcher.messages[0]["response"] == "utter_handoff_open"
    assert "(780) 555-0123" in dispatcher.messages[0]["contact_line"]
    payload = dispatcher.messages[1]["custom"]["handoff"]
    assert payload["status"] == "waiting_for_staff" and payload["clinic_open"] is True

    with database.connect() as conn:
        row = conn.execute(sa.select(handoff_tickets)).mappings().one()
    assert row["id"] == payload["ticket_id"]
    assert (row["conversation_id"], row["channel"], row["reason"]) == (
        "patient-7", "rest", "patient_asked")
    assert (row["contact_name"], row["contact_phone"]) == ("Sam Lee", "+17805550123")
    assert [m["text"] for m in json.loads(row["last_messages"])] == [
        "my jaw clicks", "Yes, TMJ (jaw) dysfunction ...", "talk to someone"]
    assert row["status"] == "new"


async def test_handoff_outside_hours_says_when_to_expect_a_reply(
    profile_file: Path, database: sa.engine.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handoff, "utc_now", lambda: SUNDAY_NOON_EDMONTON)
    dispatcher = CollectingDispatcher()
    await ActionHandoff().run(dispatcher, tracker(CONVERSATION), {})
    message = dispatcher.messages[0]
    assert message["response"] == "utter_handoff_closed"
    assert message["next_opening"] == "tomorrow at 9 a.m."  # the test profile's Monday
    assert message["clinic_phone"] == "(780) 555-0199"


async def test_a_failed_save_is_never_reported_as_passed_on(
    profile_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/missing-folder/x.db")
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff().run(dispatcher, tracker(CONVERSATION), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_failed"]
    assert SlotSet("handoff_active", True) not in events


async def test_first_miss_offers_the_likeliest_topics(profile_file: Path) -> None:
    latest = {"intent": {"name": "nlu_fallback"}, "entities": [], "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.3},
        {"name": "faq_blood_circulation", "confidence": 0.28},
        {"name": "out_of_scope", "confidence": 0.2},
        {"name": "faq_inflammation", "confidence": 0.15},
        {"name": "faq_healing_recovery", "confidence": 0.1},
        {"name": "faq_mobility", "confidence": 0.05},
    ]}
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(dispatcher, tracker(CONVERSATION, latest=latest), {})
    assert events == []
    message = dispatcher.messages[0]
    assert message["response"] == "utter_did_you_mean"
    assert message["buttons"] == [
        {"title": "Blood circulation", "payload": "/faq_blood_circulation"},
        {"title": "Inflammation", "payload": "/faq_inflammation"},
        {"title": "Healing and recovery", "payload": "/faq_healing_recovery"},
        {"title": "Something else", "payload": "/request_human"},
    ]


async def test_second_miss_in_a_row_hands_off(profile_file: Path) -> None:
    events = CONVERSATION + [
        {"event": "action", "name": "action_clarify"},
        {"event": "bot", "text": "Sorry, I'm not sure I understood."},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "asdf needle thing", "parse_data": {}},
    ]
    dispatcher = CollectingDispatcher()
    result = await ActionClarify().run(dispatcher, tracker(events), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_clarify_handoff"]
    assert result == [SlotSet("handoff_reason", "not_understood"), FollowupAction("handoff_form")]


def test_every_offered_topic_has_an_intent_and_a_title() -> None:
    from rasa.shared.core.domain import Domain

    from clinic_assistant.clinic.topics import TOPIC_TITLES

    domain = Domain.load("domain")
    faq_intents = {i for i in domain.intents if i.startswith("faq_")}
    assert faq_intents <= set(TOPIC_TITLES)
    assert set(TOPIC_TITLES) <= set(domain.intents)


async def test_handoff_from_a_recorded_conversation(
    profile_file: Path, database: sa.engine.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tracker recorded from a real conversation (tests/fixtures/record_trackers.py)."""
    from tests.conftest import FIXTURES

    state = json.loads((FIXTURES / "trackers" / "handoff_asking_contact.json").read_text())
    assert state["active_loop"]["name"] == "handoff_form"
    contact, messages = validate("Sam Lee 780-555-0123")
    state["slots"].update({k: v for k, v in contact.items() if k != "handoff_contact"})
    monkeypatch.setattr(handoff, "utc_now", lambda: MONDAY_10AM_EDMONTON)

    dispatcher = CollectingDispatcher()
    events = await ActionHandoff().run(dispatcher, Tracker.from_dict(state), {})

    assert SlotSet("handoff_active", True) in events
    with database.connect() as conn:
        row = conn.execute(sa.select(handoff_tickets)).mappings().one()
    texts = [m["text"] for m in json.loads(row["last_messages"])]
    assert texts[0] == "my jaw clicks, can dry needling help?"
    assert texts[1].startswith("Yes, TMJ (jaw) dysfunction")
    assert texts[2] == "talk to someone"
    assert texts[3].startswith("I'll pass this to our clinic team")
    assert (row["conversation_id"], row["channel"], row["contact_phone"]) == (
        "handoff_asking_contact", "rest", "+17805550123")
