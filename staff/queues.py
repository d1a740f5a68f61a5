"""The handoff and booking queues: items, their status changes (who, when, note)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa

from clinic_assistant.clinic.db import (
    BOOKING_STATUSES,
    HANDOFF_STATUSES,
    OPEN_STATUSES,
    booking_requests,
    handoff_tickets,
    queue_updates,
)

QUEUES: dict[str, tuple[sa.Table, tuple[str, ...]]] = {
    "handoff": (handoff_tickets, HANDOFF_STATUSES),
    "booking": (booking_requests, BOOKING_STATUSES),
}


class QueueError(ValueError):
    """A status change that cannot be made, with the reason."""


def items(engine: sa.engine.Engine, kind: str, status: str = "open",
          conversation_id: Optional[str] = None) -> list[dict[str, Any]]:
    """A queue's items, oldest first, each with its status history (newest first)."""
    table, _ = QUEUES[kind]
    query = sa.select(table).order_by(table.c.id)
    if conversation_id is not None:
        query = query.where(table.c.conversation_id == conversation_id)
    elif status == "open":
        query = query.where(table.c.status.in_(OPEN_STATUSES))
    elif status != "all":
        query = query.where(table.c.status == status)
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
        history: dict[int, list[dict[str, Any]]] = {}
        if rows:
            for update in conn.execute(
                sa.select(queue_updates)
                .where(queue_updates.c.item_kind == kind,
                       queue_updates.c.item_id.in_([row["id"] for row in rows]))
                .order_by(queue_updates.c.id.desc())
            ).mappings():
                history.setdefault(update["item_id"], []).append(dict(update))
    for row in rows:
        row["history"] = history.get(row["id"], [])
        if "last_messages" in row:
            row["last_messages"] = json.loads(row["last_messages"] or "[]")
    return rows


def item(engine: sa.engine.Engine, kind: str, item_id: int) -> Optional[dict[str, Any]]:
    """One queue item (None if there is no such queue or item)."""
    if kind not in QUEUES:
        return None
    table, _ = QUEUES[kind]
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == item_id)).mappings().first()
    return dict(row) if row else None


def change_status(engine: sa.engine.Engine, kind: str, item_id: int, status: str,
                  note: str, username: str) -> None:
    """Sets an item's status and records who changed it, when, and the note."""
    if kind not in QUEUES:
        raise QueueError(f"unknown queue '{kind}'")
    table, statuses = QUEUES[kind]
    if status not in statuses:
        raise QueueError(f"status must be one of: {', '.join(statuses)}")
    if len(note) > 2000:
        raise QueueError("a note is at most 2,000 characters")
    with engine.begin() as conn:
        updated = conn.execute(table.update().where(table.c.id == item_id).values(status=status))
        if updated.rowcount == 0:
            raise QueueError(f"no {kind} item {item_id}")
        conn.execute(queue_updates.insert().values(
            item_kind=kind, item_id=item_id, status=status, note=note.strip(),
            username=username, at=datetime.now(timezone.utc)))


def close_open_tickets(engine: sa.engine.Engine, conversation_id: str, username: str,
                       note: str) -> None:
    """Marks a conversation's open handoff tickets done (when staff hand it back)."""
    with engine.connect() as conn:
        open_ids = [row_id for (row_id,) in conn.execute(
            sa.select(handoff_tickets.c.id).where(
                handoff_tickets.c.conversation_id == conversation_id,
                handoff_tickets.c.status.in_(OPEN_STATUSES)))]
    for ticket_id in open_ids:
        change_status(engine, "handoff", ticket_id, "done", note, username)
