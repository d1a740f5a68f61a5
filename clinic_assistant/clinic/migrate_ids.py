"""Moves conversations stored before channel-named ids to their new ids (one-off).

    .venv/bin/python -m clinic_assistant.clinic.migrate_ids [--dry-run]

Before issue #15 a conversation's id was whatever the client sent (the widget's own
id, a REST ``sender``) or the patient's phone number / Messenger id. Each old id
becomes the id the channel would give it now (clinic_assistant/clinic/identity.py), in every
table: Rasa's events, handoff tickets, booking requests, staff marks and reviews, the
audit log. A phone number or Messenger id is kept as the conversation's contact
(masked in the console). An old widget conversation gets ``web:`` and a keyed hash of
its old id: staff can read it, but no widget can resume it (no token was ever issued
for it), so a patient who reloads the page after the upgrade starts a new one.

The channel of an old conversation is a messaging app's if any of its messages came
from one. Two old ids that would get the same new id (``+17805550123`` and
``7805550123``, ``foo`` and ``rest:foo``), or a new id already in use, are not merged:
they are listed and left as they are. Audit lines of conversations forgotten before
(a phone number as their id) get a random ``forgotten:`` id, as forget gives now.

Run it once with the Rasa server stopped and ``CONVERSATION_ID_SECRET`` set as in
production; running it again finds nothing more to move.
"""
from __future__ import annotations

import argparse
import json
import secrets
from datetime import datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa

from clinic_assistant.clinic import identity
from clinic_assistant.clinic.db import (
    message_marks,
    audit_log,
    booking_requests,
    conversation_contacts,
    conversation_reviews,
    engine_for,
    handoff_tickets,
    rasa_events,
)
from clinic_assistant.settings import Settings

events = rasa_events
TABLES = (handoff_tickets, booking_requests, message_marks, conversation_reviews, audit_log)


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


MESSAGING_CHANNELS = ("twilio", "whatsapp", "facebook")


def _channel(conn: Any, old: str) -> str:
    """The channel an old conversation belongs to: a messaging app if any of its
    patient messages came from one (someone may have written into an SMS conversation
    over REST, the hole this move closes), else the channel of its last message, else
    the widget (only the widget starts a conversation before the first message)."""
    channels = [json.loads(data).get("input_channel") for (data,) in conn.execute(
        sa.select(events.c.data).where(events.c.sender_id == old, events.c.type_name == "user")
        .order_by(events.c.id))]
    for channel in reversed(channels):
        if channel in MESSAGING_CHANNELS:
            return channel
    for table in (handoff_tickets, booking_requests):  # they name the channel too
        named = conn.execute(sa.select(table.c.channel).where(table.c.conversation_id == old)).scalar()
        if named in MESSAGING_CHANNELS:
            return named
    return next((c for c in reversed(channels) if c), None) or "socketio"


def plan(engine: sa.engine.Engine) -> tuple[list[tuple[str, str, Optional[str], str]], list[str], list[str]]:
    """(moves as (old id, new id, contact, channel), old ids left only in the audit log,
    old ids not moved because their new id is taken)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("events"):
            return [], [], []
        current = {i for (i,) in conn.execute(sa.select(events.c.sender_id).distinct())}
        old_ids = {i for i in current if not identity.is_current(i)}
        for table in TABLES[:-1]:  # tickets, requests, marks, reviews of a conversation with no events
            old_ids |= {i for (i,) in conn.execute(sa.select(table.c.conversation_id).distinct())
                        if not identity.is_current(i)}
        audit_only = sorted({i for (i,) in conn.execute(sa.select(audit_log.c.conversation_id).distinct())
                             if i and not identity.is_current(i) and not i.startswith("forgotten:")}
                            - old_ids)
        moves, taken, targets = [], [], {}
        for old in sorted(old_ids):
            channel = _channel(conn, old)
            moved, contact = new_id(old, channel)
            targets.setdefault(moved, []).append(old)
            moves.append((old, moved, contact, channel))
    # two old ids for one new id, or a new id already in use: never merged silently
    clashes = {moved for moved, olds in targets.items() if len(olds) > 1 or moved in current}
    taken = sorted(old for old, moved, _, _ in moves if moved in clashes)
    return [m for m in moves if m[1] not in clashes], audit_only, taken


def migrate(engine: sa.engine.Engine, dry_run: bool = False) -> tuple[int, int, list[str]]:
    """Moves what ``plan`` found; returns (conversations moved, ids of forgotten
    conversations replaced in the audit log, old ids not moved because of a clash)."""
    moves, audit_only, taken = plan(engine)
    if dry_run:
        return len(moves), len(audit_only), taken
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
        # a conversation forgotten before: its audit lines get a random id, as forget does now
        for old in audit_only:
            conn.execute(audit_log.update().where(audit_log.c.conversation_id == old)
                         .values(conversation_id=f"forgotten:{secrets.token_hex(16)}"))
    return len(moves), len(audit_only), taken


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m clinic_assistant.clinic.migrate_ids",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    args = parser.parse_args(argv)
    identity.check_secret()
    engine = engine_for(Settings.from_env().database.url)
    moved, forgotten, taken = migrate(engine, dry_run=args.dry_run)
    verb = "would be" if args.dry_run else "were"
    print(f"{moved} conversations {verb} moved to channel-named ids; the audit lines of "
          f"{forgotten} conversations forgotten before {verb} given random ids.")
    if taken:
        print(f"{len(taken)} conversations {verb} NOT moved: their new id is another one's "
              "(two old ids of one phone number or REST name, or a conversation already under "
              "the new id). Review them in the staff console and forget or keep them:")
        for old in taken:
            print(f"  {old}")


if __name__ == "__main__":
    main()
