"""Moves conversations stored before channel-named ids to their new ids (one-off).

    .venv/bin/python -m clinic_assistant.migrate_ids [--dry-run]

Before issue #15 a conversation's id was whatever the client sent (the widget's own
id, a REST ``sender``) or the patient's phone number / Messenger id. Each old id
becomes the id the channel would give it now (clinic_assistant/identity.py), in every
table: Rasa's events, handoff tickets, booking requests, staff marks and reviews, the
audit log. A phone number or Messenger id is kept as the conversation's contact
(masked in the console). An old widget conversation gets ``web:`` and a keyed hash of
its old id: staff can read it, but no widget can resume it (no token was ever issued
for it), so a patient who reloads the page after the upgrade starts a new one.

Run it once with the Rasa server stopped and ``CONVERSATION_ID_SECRET`` set as in
production; running it again finds nothing to move.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import Optional

import sqlalchemy as sa

from clinic_assistant import identity
from clinic_assistant.db import (
    annotations,
    audit_log,
    booking_requests,
    conversation_contacts,
    conversation_reviews,
    engine_for,
    handoff_tickets,
)
from clinic_assistant.settings import Settings

events = sa.table("events", sa.column("id", sa.Integer), sa.column("sender_id", sa.String),
                  sa.column("type_name", sa.String), sa.column("data", sa.Text))
TABLES = (handoff_tickets, booking_requests, annotations, conversation_reviews, audit_log)


def new_id(old: str, channel: Optional[str]) -> tuple[str, Optional[str]]:
    """(new id, contact address to keep) of an old conversation id."""
    kind = identity.KIND_OF_CHANNEL.get(channel or "socketio", "web")
    if kind in identity.ADDRESS_KINDS:
        return identity.address_conversation(kind, old), old
    if kind == "rest":
        try:
            return identity.rest_conversation(old), None
        except identity.IdentityError:
            return identity.keyed_id("rest", old), None
    return identity.keyed_id("web", old), None


def plan(engine: sa.engine.Engine) -> list[tuple[str, str, Optional[str], str]]:
    """(old id, new id, contact, channel) of every conversation still under an old id."""
    moves = []
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("events"):
            return []
        old_ids = [i for (i,) in conn.execute(sa.select(events.c.sender_id).distinct())
                   if not identity.is_current(i)]
        for old in old_ids:
            data = conn.execute(
                sa.select(events.c.data)
                .where(events.c.sender_id == old, events.c.type_name == "user")
                .order_by(events.c.id.desc()).limit(1)).scalar()
            # only the widget starts a conversation before the first message
            channel = (json.loads(data).get("input_channel") if data else None) or "socketio"
            moved, contact = new_id(old, channel)
            moves.append((old, moved, contact, channel))
    return moves


def migrate(engine: sa.engine.Engine, dry_run: bool = False) -> int:
    moves = plan(engine)
    if dry_run:
        return len(moves)
    with engine.begin() as conn:
        for old, moved, contact, channel in moves:
            conn.execute(sa.update(events).where(events.c.sender_id == old).values(sender_id=moved))
            for table in TABLES:
                conn.execute(table.update().where(table.c.conversation_id == old)
                             .values(conversation_id=moved))
            if contact:
                conn.execute(conversation_contacts.delete().where(
                    conversation_contacts.c.conversation_id == moved))
                conn.execute(conversation_contacts.insert().values(
                    conversation_id=moved, channel=channel, address=contact,
                    updated_at=datetime.now(timezone.utc)))
    return len(moves)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m clinic_assistant.migrate_ids",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    args = parser.parse_args(argv)
    identity.check_secret()
    engine = engine_for(Settings.from_env().database_url)
    count = migrate(engine, dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    print(f"{count} conversations {verb} to channel-named ids.")


if __name__ == "__main__":
    main()
