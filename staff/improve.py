"""Improving the bot: staff mark a patient message with the answer it should have had
(or as a new question); the marks are listed on "Improve the bot" and exported as NLU
training data (staff/exports.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Optional

import sqlalchemy as sa
import yaml

from clinic_assistant.clinic.db import message_marks
from clinic_assistant.settings import PROJECT_ROOT
from clinic_assistant.triage import RED_FLAG_INTENTS
from staff.conversations import Turn

# never offered as a mark: the bot's own "unsure" and "too long", and the red flags
# (their wording is the triage corpus's business, clinic_assistant/triage/)
NOT_MARKABLE = {"nlu_fallback", "message_too_long", *RED_FLAG_INTENTS}
NEW_QUESTION = "new"


@lru_cache(maxsize=1)
def answer_intents() -> tuple[str, ...]:
    """The intents staff can mark a message with (from domain/)."""
    names: list[str] = []
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        for intent in yaml.safe_load(path.read_text()).get("intents") or []:
            name = intent if isinstance(intent, str) else next(iter(intent))
            if name not in NOT_MARKABLE and name not in names:
                names.append(name)
    return tuple(sorted(names))


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
