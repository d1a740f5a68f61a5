"""Improving the bot: staff mark a patient message with the answer it should have had
(or as a new question); the marks are listed on "Improve the bot" and exported as NLU
training data (staff/exports.py). The page also lists the messages the bot declined
lately, which staff can mark and group into a new topic in one go
(clinic_assistant/training/)."""
from __future__ import annotations

import bisect
import json
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Optional

import sqlalchemy as sa

from clinic_assistant.clinic.db import message_marks, rasa_events
from clinic_assistant.clinic.topics import domain_intents
from clinic_assistant.settings import PROJECT_ROOT
from clinic_assistant.triage import RED_FLAG_INTENTS
from staff.conversations import Turn

# never offered as a mark: the bot's own "unsure" and "too long", and the red flags
# (their wording is the triage corpus's business, clinic_assistant/triage/)
NOT_MARKABLE = {"nlu_fallback", "message_too_long", *RED_FLAG_INTENTS}
NEW_QUESTION = "new"
# what the bot did not answer: out of scope, unsure ("did you mean"), not understood. A
# message counts when the bot then *ran* one of these actions: a form's answer such as
# "Tuesday afternoon" is often nlu_fallback to NLU, and the form takes it as it should.
DECLINED = ("out_of_scope", "nlu_fallback", "unclear")
DECLINING_ACTIONS = frozenset({"utter_out_of_scope", "action_clarify", "utter_default", "action_default_fallback"})
UNANSWERED_DAYS = 30
MAX_UNANSWERED = 100


@lru_cache(maxsize=1)
def answer_intents() -> tuple[str, ...]:
    """The intents staff can mark a message with (from domain/)."""
    return tuple(sorted(name for name in domain_intents(PROJECT_ROOT / "domain") if name not in NOT_MARKABLE))


def markable_intents(engine: sa.engine.Engine) -> tuple[str, ...]:
    """The answers of domain/ and the new topics approved in the console."""
    from clinic_assistant.training.additions import taught_topics

    return tuple(sorted({*answer_intents(), *taught_topics(engine)}))


def mark(engine: sa.engine.Engine, conversation_id: str, turn: Turn, choice: str, username: str) -> None:
    """Marks a patient message (one mark per message: a new one replaces the old)."""
    correct: Optional[str] = None if choice == NEW_QUESTION else choice
    with engine.begin() as conn:
        conn.execute(message_marks.delete().where(message_marks.c.event_id == turn.event_id))
        conn.execute(message_marks.insert().values(
            conversation_id=conversation_id, event_id=turn.event_id, text=turn.text,
            predicted_intent=turn.intent, correct_intent=correct,
            username=username, created_at=datetime.now(timezone.utc)))


def marked_messages(engine: sa.engine.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(
            sa.select(message_marks).order_by(message_marks.c.id)).mappings()]


def _declined(engine: sa.engine.Engine, *conditions: Any, most: int = MAX_UNANSWERED) -> list[dict[str, Any]]:
    query = (sa.select(rasa_events.c.id, rasa_events.c.sender_id, rasa_events.c.data, rasa_events.c.intent_name)
             .where(rasa_events.c.type_name == "user", rasa_events.c.intent_name.in_(DECLINED),
                    rasa_events.c.id.not_in(sa.select(message_marks.c.event_id)), *conditions)
             .order_by(rasa_events.c.id.desc()).limit(most))
    found = []
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        # the first action the bot ran after each message, in one query
        actions = conn.execute(
            sa.select(rasa_events.c.id, rasa_events.c.sender_id, rasa_events.c.action_name)
            .where(rasa_events.c.type_name == "action", rasa_events.c.action_name != "action_listen",
                   rasa_events.c.sender_id.in_({row.sender_id for row in rows}),
                   rasa_events.c.id > min((row.id for row in rows), default=0))
            .order_by(rasa_events.c.id)).all() if rows else []
    by_conversation: dict[str, list[Any]] = {}
    for action in actions:  # in id order
        by_conversation.setdefault(action.sender_id, []).append(action)
    for row in rows:
        later = by_conversation.get(row.sender_id, [])
        index = bisect.bisect_right([a.id for a in later], row.id)
        following = later[index].action_name if index < len(later) else None
        text = str((json.loads(row.data or "{}") or {}).get("text") or "")
        if following in DECLINING_ACTIONS and text and not text.startswith("/"):  # not a button's payload
            found.append({"event_id": row.id, "conversation_id": row.sender_id, "text": text,
                          "predicted_intent": row.intent_name})
    return found


def unanswered(engine: sa.engine.Engine, days: int = UNANSWERED_DAYS) -> list[dict[str, Any]]:
    """Patient messages of the last ``days`` days the bot declined and nobody marked yet,
    newest first."""
    return _declined(engine, rasa_events.c.timestamp >= time.time() - days * 86400)


def mark_unanswered(engine: sa.engine.Engine, event_ids: list[int], correct: Optional[str],
                    username: str) -> list[int]:
    """Marks declined messages (chosen on "Improve the bot") with their right answer
    (None: a new question); returns the marks' ids. One marked meanwhile, or whose
    conversation was deleted, is left out."""
    if not event_ids:
        return []
    chosen = {item["event_id"]: item for item in _declined(engine, rasa_events.c.id.in_(event_ids),
                                                           most=len(event_ids))}
    ids = []
    for event_id in event_ids:
        item = chosen.get(event_id)
        if item is None:
            continue
        try:
            with engine.begin() as conn:
                result = conn.execute(message_marks.insert().values(
                    conversation_id=item["conversation_id"], event_id=event_id, text=item["text"],
                    predicted_intent=item["predicted_intent"], correct_intent=correct,
                    username=username, created_at=datetime.now(timezone.utc)))
                ids.append(int(result.inserted_primary_key[0]))
        except sa.exc.IntegrityError:  # someone marked it at the same moment: take their mark
            with engine.connect() as conn:
                ids += list(conn.execute(sa.select(message_marks.c.id)
                                         .where(message_marks.c.event_id == event_id)).scalars())
    return ids
