"""Forgetting conversations: everything the clinic holds about them, everywhere.

Deletes a conversation's events (Rasa's ``events`` table), its kept contact (the
phone number or Messenger id of a messaging conversation), handoff tickets and
booking requests with their status history, staff marks and reviews, and its
messages in proposals for the bot to learn (the trainer then trains without them). The audit log
keeps its lines (who viewed, replied, forgot...), but their conversation id becomes a
random ``forgotten:…`` one: an ``sms:`` id is a keyed hash of the number, and the same
number writing again would get the same id back, so keeping it would tie the old lines
to the patient. The forget itself is recorded under that random id, in the same
transaction as the deletion.

``forget_under_locks`` takes each conversation's lock first (the Rasa server's lock
store), so a turn in progress finishes before the conversation is deleted and cannot
write it back afterwards; a message arriving after the deletion starts a new
conversation.
"""
from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import sqlalchemy as sa

from clinic_assistant.clinic.db import (
    message_marks,
    audit_log,
    booking_requests,
    conversation_contacts,
    conversation_reviews,
    email_outbox,
    handoff_tickets,
    queue_updates,
    rasa_events,
)

events = rasa_events


def delete_conversations(engine: sa.engine.Engine, ids: list[str], actor: Optional[str] = None) -> int:
    """Deletes conversations everywhere in one transaction; returns how many had
    events. With ``actor``, each deleted conversation's forget is recorded."""
    found = 0
    with engine.begin() as conn:
        # messages staff proposed for the bot to learn (clinic_assistant/training/), taken
        # out of the proposals at once, before their marks go
        marks = dict(conn.execute(sa.select(message_marks.c.id, message_marks.c.text).where(
            message_marks.c.conversation_id.in_(list(dict.fromkeys(ids))))).all())
        if marks:
            from clinic_assistant.training.additions import forget_examples

            forget_examples(conn, marks)
        for conversation_id in dict.fromkeys(ids):
            had_events = conn.execute(sa.select(events.c.id).where(
                events.c.sender_id == conversation_id).limit(1)).first() is not None
            # the staff emails about its requests hold the name and number too
            conn.execute(email_outbox.delete().where(email_outbox.c.booking_request_id.in_(
                sa.select(booking_requests.c.id).where(booking_requests.c.conversation_id == conversation_id))))
            for table, kind in ((handoff_tickets, "handoff"), (booking_requests, "booking")):
                item_ids = sa.select(table.c.id).where(table.c.conversation_id == conversation_id)
                conn.execute(queue_updates.delete().where(
                    queue_updates.c.item_kind == kind, queue_updates.c.item_id.in_(item_ids)))
                conn.execute(table.delete().where(table.c.conversation_id == conversation_id))
            for table in (message_marks, conversation_reviews, conversation_contacts):
                conn.execute(table.delete().where(table.c.conversation_id == conversation_id))
            conn.execute(sa.delete(events).where(events.c.sender_id == conversation_id))
            tombstone = f"forgotten:{secrets.token_hex(16)}"
            conn.execute(audit_log.update().where(audit_log.c.conversation_id == conversation_id)
                         .values(conversation_id=tombstone))
            if had_events:
                found += 1
                if actor:
                    conn.execute(audit_log.insert().values(
                        at=datetime.now(timezone.utc), username=actor[:64], action="forget",
                        conversation_id=tombstone, detail=""))
    return found


def sweep_orphan_contacts(engine: sa.engine.Engine, older_than: timedelta = timedelta(days=1)) -> int:
    """Deletes kept contacts whose conversation has no events (a turn that failed
    after the contact was written); returns how many."""
    cutoff = datetime.now(timezone.utc) - older_than
    with engine.begin() as conn:
        return conn.execute(conversation_contacts.delete().where(
            conversation_contacts.c.updated_at < cutoff,
            conversation_contacts.c.conversation_id.not_in(sa.select(events.c.sender_id)),
        )).rowcount or 0


async def forget_under_locks(lock_store: Any, engine: sa.engine.Engine, ids: list[str],
                             actor: Optional[str] = None) -> int:
    """Deletes each conversation while holding its lock; returns how many had events."""
    deleted = 0
    for conversation_id in dict.fromkeys(ids):
        async with lock_store.lock(conversation_id):
            deleted += await asyncio.to_thread(delete_conversations, engine, [conversation_id], actor)
    return deleted
