"""Proposals to teach the bot: a new topic, or new wordings of an existing answer.

A proposal is checked before it is saved, with the reasons as sentences for staff:

- every example is a message of 2 to 300 characters without contact details (a
  phone number, an email address or a health number: those do not belong in training
  data) and is not a red flag (the triage sends those to emergency care before any
  answer, so they are never taught as ordinary questions);
- a new topic has a name no answer has yet, at least ``MIN_TOPIC_EXAMPLES`` examples,
  and an answer text that passes the answer checks of the console (no price, coverage
  decision, clock time or phone number written out; clinic_assistant/clinic/answer_texts.py);
- new wordings name an answer the bot has (from domain/ or an approved new topic).

Both change what the bot says to patients about their health, so a clinician other
than the author approves or rejects them (``approve_training``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable, Optional

import sqlalchemy as sa

from clinic_assistant.clinic.db import message_marks, serialize_writers, training_additions

TOPIC, WORDINGS = "topic", "wordings"
PROPOSED, REJECTED, APPROVED, TRAINING, LIVE, REFUSED, WITHDRAWN = (
    "proposed", "rejected", "approved", "training", "live", "refused", "withdrawn")
# what a training run teaches: approved ones, those being trained and those already live
TAUGHT = (APPROVED, TRAINING, LIVE)
MIN_TOPIC_EXAMPLES = 5  # fewer, and the bot rarely recognises the topic in new words
MAX_EXAMPLES = 50
MIN_EXAMPLE, MAX_EXAMPLE = 2, 300
MAX_TITLE = 60


class AdditionError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Addition:
    id: int
    kind: str
    intent: str
    title: Optional[str]
    answer_text: Optional[str]
    examples: tuple[str, ...]
    mark_ids: tuple[int, ...]
    reason: str
    status: str
    proposed_by: str
    proposed_at: datetime
    decided_by: Optional[str]
    decided_at: Optional[datetime]
    run_id: Optional[int]

    @property
    def response(self) -> str:
        return f"utter_{self.intent}"


def _addition(row: Any) -> Addition:
    values = dict(row)
    values["examples"] = tuple(json.loads(values["examples"]))
    values["mark_ids"] = tuple(json.loads(values["mark_ids"]))
    return Addition(**{key: values[key] for key in Addition.__dataclass_fields__})


def _now() -> datetime:
    return datetime.now(timezone.utc)


def topic_intent(title: str) -> str:
    """The intent of a new topic: ``faq_`` and its name in lowercase words."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "faq_" + "_".join(words)[:60]


@lru_cache(maxsize=1)
def _triage() -> Any:
    from clinic_assistant.triage import Triage

    return Triage.load()


def example_problems(examples: Iterable[str]) -> list[str]:
    from staff.privacy import mask

    problems = []
    for number, text in enumerate(examples, start=1):
        shown = f"Example {number} (“{mask(text)[:60]}”)"
        if not MIN_EXAMPLE <= len(text) <= MAX_EXAMPLE:
            problems.append(f"{shown} must be {MIN_EXAMPLE} to {MAX_EXAMPLE} characters")
        elif mask(text) != text:
            problems.append(f"{shown} contains contact details or a health number; "
                            "leave it out, or type it again without them")
        elif _triage().assess(text).urgent:
            problems.append(f"{shown} reads as a red flag: the bot sends it to emergency or same-day care "
                            "before any answer, so it cannot be taught as an ordinary question")
    return problems


def clean_examples(examples: Iterable[str]) -> list[str]:
    """One line each, without repeats (case and spacing ignored), in the order given."""
    seen: set[str] = set()
    kept = []
    for text in examples:
        line = " ".join(str(text).split())
        if line and line.lower() not in seen:
            seen.add(line.lower())
            kept.append(line)
    return kept


def additions(engine: sa.engine.Engine, statuses: Iterable[str] = ()) -> list[Addition]:
    query = sa.select(training_additions).order_by(training_additions.c.id.desc())
    wanted = tuple(statuses)
    if wanted:
        query = query.where(training_additions.c.status.in_(wanted))
    with engine.connect() as connection:
        return [_addition(row) for row in connection.execute(query).mappings()]


def taught_topics(engine: sa.engine.Engine, statuses: Iterable[str] = TAUGHT) -> dict[str, Addition]:
    """New topics approved in the console, by intent (by default also those still being
    trained; ``(LIVE,)``: those the bot has learned)."""
    return {a.intent: a for a in reversed(additions(engine, statuses)) if a.kind == TOPIC}


def _marked_texts(engine: sa.engine.Engine, mark_ids: list[int]) -> list[str]:
    if not mark_ids:
        return []
    with engine.connect() as connection:
        rows = dict(connection.execute(sa.select(message_marks.c.id, message_marks.c.text)
                                       .where(message_marks.c.id.in_(mark_ids))).all())
    missing = [i for i in mark_ids if i not in rows]
    if missing:
        raise AdditionError(["a chosen message is no longer there (its conversation may have been deleted); "
                             "reload the page"])
    return [rows[i] for i in mark_ids]


def _save(engine: sa.engine.Engine, **values: Any) -> int:
    with engine.begin() as connection:
        result = connection.execute(training_additions.insert().values(
            status=PROPOSED, proposed_at=_now(), **values))
        return int(result.inserted_primary_key[0])


def propose_topic(engine: sa.engine.Engine, title: str, answer_text: str, mark_ids: list[int],
                  typed: Iterable[str], reason: str, username: str, known_intents: Iterable[str]) -> int:
    """Saves a new topic for a clinician to approve; AdditionError says what to fix."""
    from clinic_assistant.clinic.answer_texts import check_text

    name = " ".join(title.split())
    intent = topic_intent(name)
    examples = clean_examples([*_marked_texts(engine, mark_ids), *typed])
    problems = []
    if not 3 <= len(name) <= MAX_TITLE or intent == "faq_":
        problems.append(f"give the topic a name of 3 to {MAX_TITLE} characters, e.g. “Wheelchair access”")
    elif intent in set(known_intents) or intent in {a.intent for a in additions(engine, (PROPOSED, *TAUGHT))}:
        problems.append(f"there is already an answer named “{name}”: add the messages to it as new wordings, "
                        "or choose another name")
    if len(examples) < MIN_TOPIC_EXAMPLES:
        problems.append(f"a new topic needs at least {MIN_TOPIC_EXAMPLES} different example messages "
                        f"(it has {len(examples)}): choose marked messages or type more ways patients ask it")
    if len(examples) > MAX_EXAMPLES:
        problems.append(f"at most {MAX_EXAMPLES} examples at a time")
    problems += example_problems(examples)
    problems += [f"The answer: {p}" for p in check_text(f"utter_{intent}", answer_text, "")]
    why = " ".join(reason.split())[:500]
    if not why:
        problems.append("say in a few words why (it is kept with the proposal)")
    if problems:
        raise AdditionError(problems)
    return _save(engine, kind=TOPIC, intent=intent, title=name, answer_text=answer_text.strip(),
                 examples=json.dumps(examples), mark_ids=json.dumps(mark_ids), reason=why,
                 proposed_by=username)


def propose_wordings(engine: sa.engine.Engine, intent: str, mark_ids: list[int], typed: Iterable[str],
                     reason: str, username: str, known_intents: Iterable[str]) -> int:
    """Saves messages as new wordings of an answer the bot has."""
    examples = clean_examples([*_marked_texts(engine, mark_ids), *typed])
    problems = []
    if intent not in set(known_intents):
        problems.append("choose the answer these messages should get")
    if not examples:
        problems.append("choose at least one marked message, or type one")
    if len(examples) > MAX_EXAMPLES:
        problems.append(f"at most {MAX_EXAMPLES} examples at a time")
    problems += example_problems(examples)
    why = " ".join(reason.split())[:500] or "patients asked it this way"
    if problems:
        raise AdditionError(problems)
    return _save(engine, kind=WORDINGS, intent=intent, examples=json.dumps(examples),
                 mark_ids=json.dumps(mark_ids), reason=why, proposed_by=username)


def decide(engine: sa.engine.Engine, addition_id: int, username: str, role: str, approve: bool) -> Addition:
    """A clinician other than the author approves (the trainer picks it up within a
    second or so) or rejects a proposal."""
    from staff.roles import allows

    if not allows(role, "approve_training"):
        raise AdditionError(["new topics and wordings are approved or rejected by a clinician"])
    with engine.begin() as connection:
        serialize_writers(connection, training_additions)
        row = connection.execute(sa.select(training_additions)
                                 .where(training_additions.c.id == addition_id)).mappings().first()
        if row is None or row["status"] != PROPOSED:
            raise AdditionError(["there is no such proposal waiting (it may have been decided already)"])
        if row["proposed_by"] == username:
            raise AdditionError(["a change needs a second person: someone other than its author approves or rejects it"])
        if approve and row["kind"] == TOPIC:
            clash = connection.execute(sa.select(training_additions.c.id).where(
                training_additions.c.intent == row["intent"], training_additions.c.kind == TOPIC,
                training_additions.c.status.in_(TAUGHT))).first()
            if clash:
                raise AdditionError(["a topic of that name was approved meanwhile; reject this one"])
        connection.execute(training_additions.update().where(training_additions.c.id == addition_id).values(
            status=APPROVED if approve else REJECTED, decided_by=username, decided_at=_now()))
        decided = connection.execute(sa.select(training_additions)
                                     .where(training_additions.c.id == addition_id)).mappings().one()
    return _addition(decided)


def withdraw(engine: sa.engine.Engine, addition_id: int, username: str, role: str) -> Addition:
    """A clinician takes back an approved or learned addition (a topic that should not be
    there, wordings that were wrong): the trainer trains the bot again without it."""
    from staff.roles import allows

    if not allows(role, "approve_training"):
        raise AdditionError(["what the bot learns is withdrawn by a clinician"])
    with engine.begin() as connection:
        serialize_writers(connection, training_additions)
        row = connection.execute(sa.select(training_additions)
                                 .where(training_additions.c.id == addition_id)).mappings().first()
        if row is None or row["status"] not in (APPROVED, LIVE):
            raise AdditionError(["only an approved or learned proposal can be withdrawn"
                                 + (" (this one is being trained now: wait until the run ends)"
                                    if row is not None and row["status"] == TRAINING else "")])
        connection.execute(training_additions.update().where(training_additions.c.id == addition_id).values(
            status=WITHDRAWN, decided_by=username, decided_at=_now()))
        return _addition(connection.execute(sa.select(training_additions)
                                            .where(training_additions.c.id == addition_id)).mappings().one())


def forget_examples(connection: sa.engine.Connection, marks: dict[int, str]) -> int:
    """Takes the messages of forgotten conversations (their marks: id -> text) out of
    every proposal they went into, in the forget's transaction; returns how many
    proposals changed. A taught one changes what the bot should know, so the trainer
    trains again without them (and deletes the older models)."""
    changed = 0
    for row in connection.execute(sa.select(training_additions.c.id, training_additions.c.examples,
                                            training_additions.c.mark_ids)).all():
        mark_ids = json.loads(row.mark_ids)
        gone = [i for i in mark_ids if i in marks]
        if not gone:
            continue
        examples = json.loads(row.examples)
        for mark_id in gone:
            text = " ".join(marks[mark_id].split()).lower()
            examples = [e for e in examples if e.lower() != text]
        connection.execute(training_additions.update().where(training_additions.c.id == row.id).values(
            examples=json.dumps(examples), mark_ids=json.dumps([i for i in mark_ids if i not in marks])))
        changed += 1
    return changed
