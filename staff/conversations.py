"""Conversations as staff see them, read straight from Rasa's tracker store (the
``events`` table that the bot writes) and the project's tables: no copy.

A conversation here is a Rasa conversation (sender id) with at least one patient
message; a widget opened and closed without a word is not listed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from clinic_assistant.clinic.db import (
    rasa_events,
    message_marks,
    booking_requests,
    conversation_reviews,
    handoff_tickets,
)
from clinic_assistant.triage import RED_FLAG_INTENTS

events = rasa_events

# The bot "fell back" when it ran its fallback action ("did you mean" / hand off), not
# merely when NLU was unsure: a form answer such as "Tuesday afternoon" is often
# nlu_fallback to NLU, and the form takes it as it should.
FALLBACK_ACTION = "action_clarify"
FORM_ACTIONS = ("booking_form", "handoff_form")
LOW_CONFIDENCE = 0.6
PAGE_SIZE = 25
CHANNELS = ("socketio", "rest", "twilio", "whatsapp", "facebook")


@dataclass
class Filters:
    q: str = ""
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    channel: str = ""
    handed_off: Optional[bool] = None
    urgent: Optional[bool] = None
    fallback: Optional[bool] = None
    booking: Optional[bool] = None
    reviewed: Optional[bool] = None
    page: int = 1


@dataclass
class ConversationRow:
    id: str
    started: datetime
    last: datetime
    messages: int
    channel: str = ""
    preview: str = ""
    handed_off: bool = False
    urgent: bool = False
    fallback: bool = False
    booking: bool = False
    reviewed: bool = False


@dataclass
class Turn:
    event_id: int
    kind: str  # "user", "bot", "staff"
    at: datetime
    text: str
    intent: str = ""
    confidence: Optional[float] = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    urgent: bool = False
    correct_intent: Optional[str] = None
    annotated: bool = False
    handled_by: str = ""  # the first action the bot ran after a patient message

    @property
    def fell_back(self) -> bool:
        return self.handled_by == FALLBACK_ACTION

    @property
    def low_confidence(self) -> bool:
        """Worth a look: the bot fell back, or was unsure outside a form."""
        return self.kind == "user" and (
            self.fell_back
            or (self.confidence is not None and self.confidence < LOW_CONFIDENCE
                and self.handled_by not in FORM_ACTIONS)
        )


def _like_text(q: str) -> str:
    """A LIKE pattern for q inside a stored event's text (stored as JSON, non-ASCII
    escaped), with LIKE's own wildcards escaped."""
    escaped = json.dumps(q.lower())[1:-1]
    escaped = escaped.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"text": "%{escaped}%'


def _day_start(day: date, tz: ZoneInfo) -> float:
    return datetime.combine(day, time.min, tzinfo=tz).timestamp()


# Subqueries read an alias of the table, so that they are never correlated with the
# outer query on the same table.
inner = events.alias("inner_events")


def _ids_where(*conditions: Any) -> Any:
    return sa.select(inner.c.sender_id).where(*conditions)


def _flag_subqueries() -> dict[str, Any]:
    return {
        "handed_off": sa.select(handoff_tickets.c.conversation_id),
        "urgent": _ids_where(inner.c.type_name == "user", inner.c.intent_name.in_(RED_FLAG_INTENTS)),
        "fallback": _ids_where(inner.c.type_name == "action", inner.c.action_name == FALLBACK_ACTION),
        "booking": sa.select(booking_requests.c.conversation_id),
        "reviewed": sa.select(conversation_reviews.c.conversation_id),
    }


def list_conversations(
    engine: sa.engine.Engine, filters: Filters, tz: ZoneInfo
) -> tuple[list[ConversationRow], int]:
    """One page of conversations, newest activity first, and the number matching."""
    user_count = sa.func.sum(sa.case((events.c.type_name == "user", 1), else_=0))
    query = (
        sa.select(
            events.c.sender_id.label("id"),
            sa.func.min(events.c.timestamp).label("started"),
            sa.func.max(events.c.timestamp).label("last"),
            user_count.label("messages"),
        )
        .group_by(events.c.sender_id)
        .having(user_count > 0)
    )
    sender = events.c.sender_id
    if filters.q.strip():
        query = query.where(sender.in_(_ids_where(
            inner.c.type_name.in_(("user", "bot")),
            sa.func.lower(inner.c.data).like(_like_text(filters.q.strip()), escape="\\"),
        )))
    if filters.date_from:
        query = query.where(sender.in_(_ids_where(inner.c.timestamp >= _day_start(filters.date_from, tz))))
    if filters.date_to:
        end = _day_start(filters.date_to + timedelta(days=1), tz)
        query = query.where(sender.in_(_ids_where(inner.c.timestamp < end)))
    if filters.channel:
        query = query.where(sender.in_(_ids_where(
            inner.c.type_name == "user",
            inner.c.data.like(f'%"input_channel": {json.dumps(filters.channel)}%'),
        )))
    for name, subquery in _flag_subqueries().items():
        wanted = getattr(filters, name)
        if wanted is True:
            query = query.where(sender.in_(subquery))
        elif wanted is False:
            query = query.where(sender.not_in(subquery))

    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        page = max(filters.page, 1)
        rows = conn.execute(
            query.order_by(sa.desc("last")).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        ).mappings().all()
        found = [
            ConversationRow(
                id=row["id"],
                started=datetime.fromtimestamp(row["started"], tz),
                last=datetime.fromtimestamp(row["last"], tz),
                messages=int(row["messages"]),
            )
            for row in rows
        ]
        _add_details(conn, found)
    return found, int(total)


def _add_details(conn: Any, rows: list[ConversationRow]) -> None:
    ids = [row.id for row in rows]
    if not ids:
        return
    first_user: dict[str, dict[str, Any]] = {}
    for sender_id, data in conn.execute(
        sa.select(events.c.sender_id, events.c.data)
        .where(events.c.sender_id.in_(ids), events.c.type_name == "user")
        .order_by(events.c.id)
    ):
        first_user.setdefault(sender_id, json.loads(data))
    flags = {
        name: {value for (value,) in conn.execute(subquery.where(
            (subquery.selected_columns[0]).in_(ids)))}
        for name, subquery in _flag_subqueries().items()
    }
    for row in rows:
        data = first_user.get(row.id, {})
        row.channel = str(data.get("input_channel") or "")
        row.preview = str(data.get("text") or "")[:120]
        for name, members in flags.items():
            setattr(row, name, row.id in members)


def conversation_channel(engine: sa.engine.Engine, conversation_id: str) -> str:
    with engine.connect() as conn:
        data = conn.execute(
            sa.select(events.c.data)
            .where(events.c.sender_id == conversation_id, events.c.type_name == "user")
            .order_by(events.c.id.desc()).limit(1)
        ).scalar()
    return str(json.loads(data).get("input_channel") or "") if data else ""


def transcript(engine: sa.engine.Engine, conversation_id: str, tz: ZoneInfo) -> list[Turn]:
    """Every patient and bot message of a conversation, all sessions, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.id, events.c.type_name, events.c.timestamp, events.c.data)
            .where(events.c.sender_id == conversation_id,
                   events.c.type_name.in_(("user", "bot", "action")))
            .order_by(events.c.id)
        ).all()
        marks = {
            row["event_id"]: row
            for row in conn.execute(
                sa.select(message_marks).where(message_marks.c.conversation_id == conversation_id)
            ).mappings()
        }
    turns: list[Turn] = []
    waiting: Optional[Turn] = None  # the patient message whose first action is next
    for event_id, type_name, timestamp, raw in rows:
        data = json.loads(raw)
        at = datetime.fromtimestamp(timestamp or 0, tz)
        if type_name == "action":
            name = str(data.get("name") or "")
            if waiting is not None and name != "action_listen":
                waiting.handled_by, waiting = name, None
            continue
        if type_name == "user":
            parse = data.get("parse_data") or {}
            intent = parse.get("intent") or {}
            mark = marks.get(event_id)
            turns.append(Turn(
                event_id=event_id, kind="user", at=at, text=str(data.get("text") or ""),
                intent=str(intent.get("name") or ""), confidence=intent.get("confidence"),
                entities=[
                    {"entity": e.get("entity"), "value": e.get("value")}
                    for e in parse.get("entities") or []
                ],
                urgent=intent.get("name") in RED_FLAG_INTENTS,
                correct_intent=mark["correct_intent"] if mark else None,
                annotated=mark is not None,
            ))
            waiting = turns[-1]
        else:
            custom = (data.get("data") or {}).get("custom") or {}
            if not isinstance(custom, dict):
                custom = {}
            text = str(data.get("text") or "")
            handoff = custom.get("handoff")
            if not text and isinstance(handoff, dict):
                text = f"[handoff: {str(handoff.get('status', '')).replace('_', ' ')}]"
            if not text:
                continue
            turns.append(Turn(
                event_id=event_id, kind="staff" if "from_staff" in custom else "bot", at=at,
                text=text, urgent=custom.get("urgent") is True,
            ))
    return turns


def handoff_active(engine: sa.engine.Engine, conversation_id: str) -> bool:
    """Whether the conversation is with staff now (the bot's ``handoff_active`` slot)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.type_name, events.c.data)
            .where(events.c.sender_id == conversation_id,
                   events.c.type_name.in_(("slot", "session_started", "restart")))
            .order_by(events.c.id.desc())
        )
        for type_name, raw in rows:
            if type_name != "slot":
                return False  # a new session starts with the slot unset
            data = json.loads(raw)
            if data.get("name") == "handoff_active":
                return bool(data.get("value"))
    return False


def stats(engine: sa.engine.Engine, tz: ZoneInfo, now: Optional[datetime] = None,
          days: int = 14) -> dict[str, Any]:
    """Counts for today and this week (from Monday), and conversations per day."""
    moment = (now or datetime.now(timezone.utc)).astimezone(tz)
    today = moment.date()
    periods = {"today": today, "week": today - timedelta(days=today.weekday())}
    result: dict[str, Any] = {}
    with engine.connect() as conn:
        for name, first_day in periods.items():
            start = _day_start(first_day, tz)
            start_dt = datetime.fromtimestamp(start, timezone.utc)
            user_events = sa.select(events.c.sender_id, events.c.intent_name).where(
                events.c.type_name == "user", events.c.timestamp >= start).subquery()
            messages = conn.execute(sa.select(sa.func.count()).select_from(user_events)).scalar_one()
            fallbacks = conn.execute(sa.select(sa.func.count()).where(
                events.c.type_name == "action", events.c.action_name == FALLBACK_ACTION,
                events.c.timestamp >= start)).scalar_one()
            result[name] = {
                "conversations": conn.execute(
                    sa.select(sa.func.count(sa.distinct(user_events.c.sender_id)))).scalar_one(),
                "handoffs": conn.execute(sa.select(sa.func.count()).where(
                    handoff_tickets.c.created_at >= start_dt)).scalar_one(),
                "urgent": conn.execute(sa.select(sa.func.count()).select_from(user_events).where(
                    user_events.c.intent_name.in_(RED_FLAG_INTENTS))).scalar_one(),
                "bookings": conn.execute(sa.select(sa.func.count()).where(
                    booking_requests.c.created_at >= start_dt)).scalar_one(),
                "messages": messages,
                "fallback_rate": (fallbacks / messages) if messages else 0.0,
            }
        first = today - timedelta(days=days - 1)
        per_day = {first + timedelta(days=i): set() for i in range(days)}
        for sender_id, timestamp in conn.execute(
            sa.select(events.c.sender_id, events.c.timestamp).where(
                events.c.type_name == "user", events.c.timestamp >= _day_start(first, tz))
        ):
            day = datetime.fromtimestamp(timestamp, tz).date()
            if day in per_day:
                per_day[day].add(sender_id)
    result["per_day"] = [(day, len(ids)) for day, ids in per_day.items()]
    return result


def conversations_older_than(engine: sa.engine.Engine, days: int,
                             now: Optional[datetime] = None) -> list[str]:
    """Conversations whose last event is more than ``days`` days old."""
    cutoff = (now or datetime.now(timezone.utc)).timestamp() - days * 86400
    with engine.connect() as conn:
        return [
            sender_id for (sender_id,) in conn.execute(
                sa.select(events.c.sender_id).group_by(events.c.sender_id)
                .having(sa.func.max(events.c.timestamp) < cutoff))
        ]


def review_of(engine: sa.engine.Engine, conversation_id: str) -> Optional[dict[str, Any]]:
    """Who marked the conversation reviewed, and when; None if nobody has."""
    with engine.connect() as conn:
        row = conn.execute(conversation_reviews.select().where(
            conversation_reviews.c.conversation_id == conversation_id)).mappings().first()
    return dict(row) if row else None


def set_reviewed(engine: sa.engine.Engine, conversation_id: str, username: str, reviewed: bool) -> None:
    with engine.begin() as conn:
        conn.execute(conversation_reviews.delete().where(
            conversation_reviews.c.conversation_id == conversation_id))
        if reviewed:
            conn.execute(conversation_reviews.insert().values(
                conversation_id=conversation_id, username=username,
                reviewed_at=datetime.now(timezone.utc)))
