"""Exports: marked messages as Rasa NLU training data; conversations as CSV and JSON."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone
from typing import Any, Iterable

import yaml

from staff import conversations
from staff.conversations import Filters, Turn
from staff.privacy import mask

# what YAML cannot hold (PyYAML's reader refuses it: NUL, escape, C1 controls, U+FFFE...)
# and any other control character: taken out of a message before it is exported
NOT_EXPORTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# a cell starting with one of these is a formula (or starts one) in a spreadsheet
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def exportable(text: str) -> tuple[str, bool]:
    """The text on one line with control characters taken out (each becomes a space;
    whitespace runs become one space), and whether any were."""
    cleaned = NOT_EXPORTABLE.sub(" ", text)
    return " ".join(cleaned.split()), cleaned != text


def nlu_yaml(marked: Iterable[dict[str, Any]]) -> str:
    """Rasa 3.x NLU YAML: examples grouped by their correct intent, ready to merge into
    data/nlu/; new questions (no answer yet) listed as comments for whoever writes
    their answer. Contact details in a message are hidden; control characters are
    taken out (a note at the top says how many messages had some)."""
    by_intent: dict[str, list[str]] = {}
    new_questions: list[str] = []
    cleaned = 0
    for mark in marked:
        text, had_controls = exportable(mask(mark["text"]))
        cleaned += had_controls
        if not text:
            continue
        if mark["correct_intent"]:
            examples = by_intent.setdefault(mark["correct_intent"], [])
            if text not in examples:
                examples.append(text)
        elif text not in new_questions:
            new_questions.append(text)
    lines = [
        f"# Exported from the staff console on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        "# Messages staff marked with the right intent; add them to the matching file",
        "# in data/nlu/, then run `make test` (it retrains).",
    ]
    if cleaned:
        lines.append(f"# Control characters were taken out of {cleaned} of these messages "
                     "(those left empty are not listed).")
    lines += ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        for text in by_intent[intent]:
            lines.append("    - " + text)  # a literal block: the text as typed
    if not by_intent:
        lines[-1] = "nlu: []"
    if new_questions:
        lines.append("# New questions the bot has no answer for yet (write an answer and an")
        lines.append("# intent for them first):")
        lines.extend(f"#   - {text}" for text in new_questions)
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)  # never hand out a file Rasa cannot read
    return text


LIMIT = 1000  # conversations per export


def conversations_for_export(engine: Any, filters: Filters, tz: Any) -> list[tuple[str, str, list[Turn]]]:
    """The conversations the filters pick (all pages), at most LIMIT: id, channel, turns."""
    picked: list[tuple[str, str, list[Turn]]] = []
    filters.page = 1
    while len(picked) < LIMIT:
        rows, _ = conversations.list_conversations(engine, filters, tz)
        picked += [(row.id, row.channel, conversations.transcript(engine, row.id, tz)) for row in rows]
        if len(rows) < conversations.PAGE_SIZE:
            break
        filters.page += 1
    return picked[:LIMIT]


def conversation_records(picked: list[tuple[str, str, list[Turn]]]) -> list[dict[str, Any]]:
    """One record per message: conversation, channel, time, who, text (contacts hidden),
    intent and confidence for patient messages."""
    return [
        {
            "conversation_id": conversation_id,
            "channel": channel,
            "time": turn.at.isoformat(),
            "sender": turn.kind,
            "text": mask(turn.text),
            "intent": turn.intent,
            "confidence": None if turn.confidence is None else round(turn.confidence, 4),
        }
        for conversation_id, channel, turns in picked
        for turn in turns
    ]


def spreadsheet_cell(value: Any) -> str:
    """A value as text a spreadsheet shows as it is: one that would start a formula
    gets a leading apostrophe; no value is an empty cell."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def as_csv(records: list[dict[str, Any]]) -> str:
    """Every field quoted, every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    fields = ["conversation_id", "channel", "time", "sender", "text", "intent", "confidence"]
    writer = csv.DictWriter(out, fieldnames=fields, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for record in records:
        writer.writerow({k: spreadsheet_cell(v) for k, v in record.items()})
    return out.getvalue()


def as_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, ensure_ascii=False, indent=2)
