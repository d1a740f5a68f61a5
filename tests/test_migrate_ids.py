"""The one-off move of conversations stored under old ids (a phone number, a
widget's own id, a REST sender) to channel-named ids (clinic_assistant/clinic/migrate_ids.py)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.clinic import identity, migrate_ids
from clinic_assistant.clinic.db import audit_log, create_handoff_ticket, engine_for
from clinic_assistant.rasa.tracker_store import UrlSQLTrackerStore

PHONE = "+17805550199"


def every_value(engine: sa.engine.Engine) -> str:
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return "\n".join(str(row) for name in names for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')))


def test_old_conversations_move_to_channel_named_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = UrlSQLTrackerStore(db_url=url)
    old = {PHONE: ["twilio", "rest"],  # someone wrote into it over REST last: still an SMS conversation
           "whatsapp:" + PHONE: ["whatsapp"], "3f2a" * 8: ["socketio"], "my-test": ["rest"],
           # two old ids of one new id are not merged: listed, left alone
           "dup": ["rest"], "rest:dup": ["rest"]}
    for sender, channels in old.items():
        tracker = DialogueStateTracker(sender, [])
        for channel in channels:
            tracker.update(UserUttered("hello", input_channel=channel))
            tracker.update(BotUttered("Hi"))
        asyncio.run(store.save(tracker))
    engine = engine_for(url)
    create_handoff_ticket(engine, conversation_id=PHONE, channel="twilio", reason="asked", last_messages=[])
    with engine.begin() as conn:  # the audit lines of a conversation forgotten before the move
        conn.execute(audit_log.insert().values(at=datetime.now(timezone.utc), username="anna",
                                               action="forget", conversation_id="+17805550222", detail=""))

    assert migrate_ids.migrate(engine, dry_run=True) == (4, 1, ["dup"])
    assert migrate_ids.migrate(engine) == (4, 1, ["dup"])
    assert migrate_ids.migrate(engine) == (0, 0, ["dup"])  # once only

    sms = identity.address_conversation("sms", PHONE)
    with engine.connect() as conn:
        ids = {i for (i,) in conn.execute(sa.text("SELECT DISTINCT sender_id FROM events"))}
        contacts = {row[0]: row[1] for row in conn.execute(sa.text("SELECT conversation_id, address FROM conversation_contacts"))}
        ticket = conn.execute(sa.text("SELECT conversation_id FROM handoff_tickets")).scalar()
    assert ids == {sms, identity.address_conversation("whatsapp", "whatsapp:" + PHONE),
                   identity.keyed_id("web", "3f2a" * 8), "rest:my-test", "dup", "rest:dup"}
    assert ticket == sms
    assert contacts[sms] == PHONE
    # the number is left only as the conversations' kept contact
    assert every_value(engine).count(PHONE[2:]) == 2
    assert "7805550222" not in every_value(engine)
