"""Conversations and the project's tables share the database named by DATABASE_URL."""
from __future__ import annotations

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.clinic.db import create_handoff_ticket, engine_for
from clinic_assistant.rasa.tracker_store import UrlSQLTrackerStore


async def test_one_url_for_conversations_and_project_tables(database_url: str) -> None:
    url = database_url
    store = UrlSQLTrackerStore(domain=Domain.load("domain"), db_url=url)
    assert str(store.engine.url) == url

    tracker = DialogueStateTracker.from_events("patient-1", [UserUttered("hello")])
    await store.save(tracker)
    assert (await store.retrieve("patient-1")).latest_message.text == "hello"

    create_handoff_ticket(engine_for(url), conversation_id="patient-1", channel="rest",
                          reason="patient_asked", last_messages=[])
    tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
    assert {"events", "handoff_tickets", "booking_requests"} <= tables


async def test_saving_again_adds_only_the_new_events(database_url: str) -> None:
    store = UrlSQLTrackerStore(domain=Domain.load("domain"), db_url=database_url)
    tracker = DialogueStateTracker.from_events("patient-2", [UserUttered("one")])
    await store.save(tracker)
    tracker.update(UserUttered("two"))
    await store.save(tracker)
    await store.save(tracker)  # nothing new: nothing added
    stored = await store.retrieve("patient-2")
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == ["one", "two"]
