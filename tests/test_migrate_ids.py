"""The one-off move of conversations stored under old ids (a phone number, a
widget's own id, a REST sender) to channel-named ids (clinic_assistant/migrate_ids.py)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant import identity, migrate_ids
from clinic_assistant.db import create_handoff_ticket, engine_for
from clinic_assistant.tracker_store import UrlSQLTrackerStore

PHONE = "+17805550199"


def every_value(engine: sa.engine.Engine) -> str:
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return "\n".join(str(row) for name in names for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')))


def test_old_conversations_move_to_channel_named_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = UrlSQLTrackerStore(db_url=url)
    old = {PHONE: "twilio", "whatsapp:" + PHONE: "whatsapp", "3f2a" * 8: "socketio", "my-test": "rest"}
    for sender, channel in old.items():
        tracker = DialogueStateTracker(sender, [])
        tracker.update(UserUttered("hello", input_channel=channel))
        tracker.update(BotUttered("Hi"))
        asyncio.run(store.save(tracker))
    engine = engine_for(url)
    create_handoff_ticket(engine, conversation_id=PHONE, channel="twilio", reason="asked", last_messages=[])

    assert migrate_ids.migrate(engine, dry_run=True) == 4
    assert migrate_ids.migrate(engine) == 4
    assert migrate_ids.migrate(engine) == 0  # once only

    sms = identity.address_conversation("sms", PHONE)
    with engine.connect() as conn:
        ids = {i for (i,) in conn.execute(sa.text("SELECT DISTINCT sender_id FROM events"))}
        contacts = {row[0]: row[1] for row in conn.execute(sa.text("SELECT conversation_id, address FROM conversation_contacts"))}
        ticket = conn.execute(sa.text("SELECT conversation_id FROM handoff_tickets")).scalar()
    assert ids == {sms, identity.address_conversation("whatsapp", "whatsapp:" + PHONE),
                   identity.keyed_id("web", "3f2a" * 8), "rest:my-test"}
    assert ticket == sms
    assert contacts[sms] == PHONE
    # the number is left only as the conversations' kept contact
    assert every_value(engine).count(PHONE[2:]) == 2
