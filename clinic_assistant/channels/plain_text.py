"""Bot replies as plain text for messaging apps (SMS, WhatsApp, Messenger).

- Buttons become numbered options ("Reply with a number: 1. What is dry needling?
  …"); a reply of "1", "2"… picks the option of the last message that offered
  options (``chosen_payload``), read from the conversation's record, so it works
  across processes and restarts.
- Long texts are split at sentence boundaries within the platform's limit.
- Custom data never goes out as JSON: an urgent reply keeps its text (marked
  "URGENT:"), a staff reply is signed with the staff member's name, a handoff
  payload adds nothing.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from rasa.shared.core.events import BotUttered, UserUttered

from clinic_assistant.channels.common import buttons_of, is_urgent

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
NUMBER_REPLY = re.compile(r"^\s*#?(\d{1,2})\s*[.)]?\s*$")
URGENT_PREFIX = "URGENT: "


def reply_text(message: dict[str, Any]) -> str:
    """One bot reply as plain text: its text, then its buttons as numbered options."""
    text = str(message.get("text") or "").strip()
    custom = message.get("custom")
    if text and isinstance(custom, dict):
        if is_urgent(message):
            text = URGENT_PREFIX + text
        staff = custom.get("from_staff")
        if isinstance(staff, dict):
            text = f"{staff.get('name') or 'Clinic staff'} (clinic staff): {text}"
    options = buttons_of(message)
    if options:
        listed = "\n".join(f"{n}. {b['title']}" for n, b in enumerate(options, start=1))
        text = f"{text}\n\nReply with a number:\n{listed}" if text else f"Reply with a number:\n{listed}"
    return text


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most ``limit`` characters, cut between sentences (or lines) where
    possible, else between words, and only as a last resort inside a word."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    position = 0
    for match in SENTENCE_END.finditer(text):
        pieces.append(text[position:match.end()])
        position = match.end()
    pieces.append(text[position:])
    parts: list[str] = []
    current = ""
    for piece in pieces:
        if len(current) + len(piece) <= limit:
            current += piece
            continue
        if current.strip():
            parts.append(current.strip())
        current = ""
        while len(piece) > limit:  # one sentence longer than the limit: cut at a space
            cut = piece.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            parts.append(piece[:cut].strip())
            piece = piece[cut:].lstrip()
        current = piece
    if current.strip():
        parts.append(current.strip())
    return parts


def chosen_payload(text: str, events: Iterable[Any]) -> Optional[str]:
    """The payload of option N when the patient replies "N" to the last message that
    offered options (and has not answered it yet); None otherwise."""
    match = NUMBER_REPLY.match(text or "")
    if not match:
        return None
    options: list[dict[str, str]] = []
    for event in events:
        if isinstance(event, BotUttered):
            offered = buttons_of({**(event.data or {})})
            if offered:
                options = offered
        elif isinstance(event, UserUttered):
            options = []
    number = int(match.group(1))
    if 1 <= number <= len(options):
        return options[number - 1]["payload"]
    return None

