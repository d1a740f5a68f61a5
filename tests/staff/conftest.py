"""The staff console in-process (Flask's test client) over a real database — SQLite and
PostgreSQL — holding conversations written by Rasa's own SQL tracker store."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.clinic.db import create_booking_request, create_handoff_ticket, engine_for
from tests.harness.servers import free_port
from clinic_assistant.settings import PROJECT_ROOT, Settings
from clinic_assistant.rasa.tracker_store import UrlSQLTrackerStore
from staff import accounts

PASSWORD = "correct horse battery"
NOW = datetime.now(timezone.utc)


def said(text: str, intent: str, confidence: float, at: datetime, channel: str,
         entities: list[dict[str, Any]] | None = None) -> UserUttered:
    return UserUttered(
        text, {"name": intent, "confidence": confidence}, entities or [],
        parse_data={"intent": {"name": intent, "confidence": confidence},
                    "entities": entities or [], "text": text},
        timestamp=at.timestamp(), input_channel=channel,
    )


def bot(text: str, at: datetime, custom: dict[str, Any] | None = None) -> BotUttered:
    return BotUttered(text, {"custom": custom} if custom else {}, timestamp=at.timestamp())


def conversations() -> dict[str, list[Any]]:
    today = NOW - timedelta(seconds=5)
    yesterday = NOW - timedelta(days=1)
    return {
        "conv-faq": [
            SessionStarted(timestamp=yesterday.timestamp()),
            said("What is dry needling?", "faq_what_is_dry_needling", 0.95, yesterday, "socketio"),
            bot("Dry needling is a treatment ...", yesterday + timedelta(seconds=1)),
        ],
        "conv-handoff": [
            said("I want to talk to a person", "request_human", 0.9, yesterday, "socketio"),
            bot("I'll pass this to our clinic team.", yesterday + timedelta(seconds=1)),
            said("Ann, call me at 780-555-0123", "request_human", 0.41, yesterday + timedelta(seconds=20), "socketio"),
            SlotSet("handoff_active", True, timestamp=(yesterday + timedelta(seconds=21)).timestamp()),
            bot("Thanks. I've passed your conversation to our clinic team.", yesterday + timedelta(seconds=21),
                {"handoff": {"status": "waiting_for_staff"}}),
        ],
        "conv-urgent": [
            said("I have chest pain and can't breathe", "red_flag_emergency", 1.0, today, "rest"),
            bot("What you describe could be a medical emergency. Please call 911 now.", today,
                {"urgent": True}),
        ],
        "conv-fallback": [
            said("how much does a session cost blorp", "nlu_fallback", 0.3, today, "rest"),
            ActionExecuted("action_clarify", timestamp=today.timestamp()),
            bot("Sorry, I didn't quite get that.", today),
        ],
        "conv-booking": [
            said("my jaw clicks", "ask_condition", 0.97, NOW - timedelta(days=3), "socketio",
                 [{"entity": "condition", "value": "TMJ dysfunction", "start": 3, "end": 13}]),
            bot("Dry needling can help with jaw pain.", NOW - timedelta(days=3)),
            # a form answer: unsure NLU, but the booking form takes it; not a fallback
            said("Tuesday afternoon", "nlu_fallback", 0.2, NOW - timedelta(days=3), "socketio"),
            ActionExecuted("booking_form", timestamp=(NOW - timedelta(days=3)).timestamp()),
            bot("Thanks. What is the visit for?", NOW - timedelta(days=3)),
        ],
        "conv-old": [
            said("hello", "greet", 0.99, NOW - timedelta(days=400), "rest"),
            bot("Hello!", NOW - timedelta(days=400)),
        ],
        "conv-opened-only": [
            bot("Hi, I'm the automated assistant.", today),
            ActionExecuted("action_listen", timestamp=today.timestamp()),
        ],
    }


@pytest.fixture
def clinic_db(database_url: str) -> str:
    """A database with the conversations above, a handoff ticket, a booking request and
    one staff account ("anna", an administrator)."""
    store = UrlSQLTrackerStore(domain=Domain.load(str(PROJECT_ROOT / "domain")), db_url=database_url)

    async def save_all() -> None:
        for sender_id, events in conversations().items():
            await store.save(DialogueStateTracker.from_events(sender_id, events))

    asyncio.run(save_all())
    engine = engine_for(database_url)
    create_handoff_ticket(engine, conversation_id="conv-handoff", channel="socketio",
                          reason="patient_asked", contact_name="Ann", contact_phone="+17805550123",
                          last_messages=[{"sender": "patient", "text": "Ann, call me at 780-555-0123"}],
                          now=NOW - timedelta(days=1))
    create_booking_request(engine, conversation_id="conv-booking", channel="socketio", name="Bo Lee",
                           phone="+17805550199", email=None, preferred_times="Tuesday afternoon",
                           reason="jaw pain", patient_type="new", now=NOW - timedelta(days=3))
    accounts.create_user(engine, "anna", PASSWORD, "Anna", role="admin")
    return database_url


@pytest.fixture
def settings(clinic_db: str) -> Settings:
    return Settings.from_env({
        "CLINIC_PROFILE": str(PROJECT_ROOT / "clinic" / "profile.yml"),
        "DATABASE_URL": clinic_db,
        "STAFF_SECRET_KEY": "test-secret-" + "k" * 32,
        # no bot server there: forget deletes directly (nothing can be mid-turn), and
        # a bot server of `make run` on this machine is never touched by the tests
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
    })


@pytest.fixture
def client(settings: Settings) -> Iterator[Any]:
    from staff.app import create_app

    app = create_app(settings)
    with app.test_client() as test_client:
        yield test_client


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: Any, username: str = "anna", password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post("/login", data={
        "username": username, "password": password, "csrf_token": csrf_token(page.get_data(as_text=True)),
    })


@pytest.fixture
def signed_in(client: Any) -> Any:
    assert login(client).status_code == 302
    return client


def post_form(client: Any, page_url: str, action: str, data: dict[str, str]) -> Any:
    """Submits a form of a page the way a browser would: with that page's CSRF token."""
    page = client.get(page_url)
    return client.post(action, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})
