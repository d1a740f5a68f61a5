"""Forgetting conversations: everything the clinic holds about them, everywhere.

Deletes a conversation's events (Rasa's ``events`` table), its kept contact (the
phone number or Messenger id of a messaging conversation), handoff tickets and
booking requests with their status history, staff marks and reviews. The audit log
keeps its lines: who viewed or forgot which conversation id, and ids are pseudonymous
(clinic_assistant/identity.py); no message text, name or number is in them.

``forget_under_locks`` takes each conversation's lock first (the Rasa server's lock
store), so a turn in progress finishes before the conversation is deleted and cannot
write it back afterwards; a message arriving after the deletion starts a new
conversation.
"""
from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from clinic_assistant.db import (
    annotations,
    booking_requests,
    conversation_contacts,
    conversation_reviews,
    handoff_tickets,
    queue_updates,
)

# Rasa's SQL tracker store table (rasa/core/tracker_store.py, SQLTrackerStore)
events = sa.table("events", sa.column("id", sa.Integer), sa.column("sender_id", sa.String))


def delete_conversations(engine: sa.engine.Engine, ids: list[str]) -> int:
    """Deletes conversations everywhere in one transaction; returns how many had events."""
    if not ids:
        return 0
    with engine.begin() as conn:
        found = conn.execute(sa.select(sa.func.count(sa.distinct(events.c.sender_id))).where(
            events.c.sender_id.in_(ids))).scalar_one()
        for table, kind in ((handoff_tickets, "handoff"), (booking_requests, "booking")):
            item_ids = sa.select(table.c.id).where(table.c.conversation_id.in_(ids))
            conn.execute(queue_updates.delete().where(
                queue_updates.c.item_kind == kind, queue_updates.c.item_id.in_(item_ids)))
            conn.execute(table.delete().where(table.c.conversation_id.in_(ids)))
        for table in (annotations, conversation_reviews, conversation_contacts):
            conn.execute(table.delete().where(table.c.conversation_id.in_(ids)))
        conn.execute(sa.delete(events).where(events.c.sender_id.in_(ids)))
    return int(found)


async def forget_under_locks(lock_store: Any, engine: sa.engine.Engine, ids: list[str]) -> int:
    """Deletes each conversation while holding its lock; returns how many had events."""
    deleted = 0
    for conversation_id in dict.fromkeys(ids):
        async with lock_store.lock(conversation_id):
            deleted += await asyncio.to_thread(delete_conversations, engine, [conversation_id])
    return deleted
