"""The console's audit log: who did what to which conversation, when. Every page that
shows a patient's words and every change goes through `record`.

A search's words are never kept, only their length: staff search for a patient's name
or number, and forgetting that patient must leave neither behind. Forgetting gives a
conversation's lines a random id (clinic_assistant/clinic/forget.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional
from urllib.parse import urlencode

import sqlalchemy as sa

from clinic_assistant.clinic.db import audit_log
from staff.conversations import Filters


def record(engine: sa.engine.Engine, username: str, action: str,
           conversation_id: Optional[str] = None, detail: str = "") -> None:
    """Adds a line to the audit log."""
    with engine.begin() as conn:
        conn.execute(audit_log.insert().values(
            at=datetime.now(timezone.utc), username=username, action=action,
            conversation_id=conversation_id, detail=detail))


def filter_note(filters: Filters, with_page: bool = True) -> str:
    """The filters in effect, for the audit log (a search by its length only)."""
    flags = {name: {True: "yes", False: "no"}.get(getattr(filters, name))
             for name in ("handed_off", "urgent", "fallback", "booking", "reviewed")}
    query = filters.q.strip()
    values = {
        "q": f"({len(query)} characters)" if query else "", "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "", "channel": filters.channel,
        **flags, "page": str(filters.page) if with_page and filters.page > 1 else "",
    }
    return urlencode([(name, value) for name, value in values.items() if value])
