"""Booking requests: reading what the patient typed, and what staff receive.

Pure functions (no I/O): the action server's form validation and the tests use them.
The bot never books: it collects a request that clinic staff confirm.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Optional

from clinic_assistant.clinic.contact import format_phone
from clinic_assistant.clinic.profile import clock_text, day_text

MAX_NAME_LENGTH = 60

# ---- name ---------------------------------------------------------------------------

_NAME_PREFIX = re.compile(
    r"^\s*(my name is|my name's|name is|name's|i'm|i am|im|it's|its|this is|call me|"
    r"it is)\s+", re.IGNORECASE)
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$", re.UNICODE)


# Words that reply to the bot rather than answer its question: "yes", "ok thanks",
# "hello", "idk". A message made only of these is never a name, a time or a reason.
NON_ANSWER_WORDS = frozenset("""
    yes yeah yea yep yup ya yas sure ok okay oki k kk alright fine no nope nah not maybe
    perhaps hi hello hey hiya howdy thanks thank you thx ty tysm cheers bye goodbye please
    pls plz idk dunno unsure know don't dont what why how who help test testing nothing
    none na lol hmm hm um uh uhh great good cool sounds perfect right correct
""".split())
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def is_non_answer(text: str) -> bool:
    """Whether a form answer is only a reply word or two ("yes", "ok thanks", "hi")."""
    words = _WORDS.findall((text or "").lower())
    return bool(words) and all(word in NON_ANSWER_WORDS for word in words)


def read_name(text: str) -> Optional[str]:
    """The name to book under, or None if ``text`` does not look like a name.

    "my name is sam lee" -> "Sam Lee"; "Ève O'Neil-Smith" stays as typed; "yes",
    "ok thanks" or "hello" are not names.
    """
    if is_non_answer(text):
        return None
    candidate = _NAME_PREFIX.sub("", (text or "").strip()).strip(" .,!")
    words = candidate.split()
    if not words or len(candidate) > MAX_NAME_LENGTH or len(words) > 5:
        return None
    if not _NAME_CHARS.match(candidate):
        return None
    return candidate.title() if candidate.islower() or candidate.isupper() else candidate


# ---- preferred days and times ----------------------------------------------------------

_DAY_PARTS = (
    ("morning", re.compile(r"\bmornings?\b|\bbefore (noon|lunch)\b|\bam\b", re.I)),
    ("lunchtime", re.compile(r"\blunch(time)?\b|\bnoon\b|\bmidday\b", re.I)),
    ("afternoon", re.compile(r"\bafternoons?\b|\bpm\b", re.I)),
    ("evening", re.compile(r"\bevenings?\b|\bafter work\b|\bafter \d ?(pm)?\b|\bnights?\b", re.I)),
    ("weekdays", re.compile(r"\bweekdays?\b", re.I)),
    ("weekends", re.compile(r"\bweekends?\b|\bsaturdays?\b|\bsundays?\b", re.I)),
    ("as soon as possible", re.compile(r"\basap\b|\bas soon as possible\b|\bsoonest\b", re.I)),
    ("any time", re.compile(r"\bany ?time\b|\bwhenever\b|\bflexible\b|\bany day\b", re.I)),
)


@dataclass(frozen=True)
class PreferredTimes:
    """What the patient said about when they can come, as staff will read it."""

    text: str
    days: tuple[date, ...] = ()
    week_of: Optional[date] = None
    parts: tuple[str, ...] = ()
    past: tuple[date, ...] = field(default=())

    @property
    def understood(self) -> bool:
        return bool(self.days or self.week_of or self.parts)

    def summary(self) -> str:
        """E.g. "Tuesday, December 1, afternoon"; the patient's words when nothing was
        recognised."""
        pieces = [day_text(d) for d in self.days]
        if self.week_of:
            pieces.append(f"the week of {day_text(self.week_of, weekday=False)}")
        text = " or ".join(pieces)
        if self.parts:
            text = f"{text}, {' or '.join(self.parts)}" if text else " or ".join(self.parts)
        return text or self.text.strip()


def read_preferred_times(text: str, now: datetime) -> PreferredTimes:
    """Days and times of day in ``text`` (dates found by dateparser), relative to ``now``."""
    from dateparser.search import search_dates

    text = (text or "").strip()
    parts = tuple(name for name, pattern in _DAY_PARTS if pattern.search(text))
    today = now.date()
    week_of: Optional[date] = None
    if re.search(r"\bnext week\b", text, re.I):
        week_of = today + timedelta(days=7 - today.weekday())  # next Monday
    found = search_dates(
        text,
        languages=["en"],
        settings={"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future",
                  "RETURN_AS_TIMEZONE_AWARE": False},
    ) or []
    days: list[date] = []
    past: list[date] = []
    for words, moment in found:
        if re.fullmatch(r"(next )?week", words.strip(), re.I):
            continue
        day = moment.date()
        if day < today:
            past.append(day)
        elif day not in days:
            days.append(day)
        if re.search(r"\d", words) and (moment.hour or moment.minute) and day >= today:
            part = clock_text(moment.time())
            if part not in parts:
                parts = parts + (part,)
    return PreferredTimes(text, tuple(days), week_of, parts, tuple(past))


# ---- new or returning -------------------------------------------------------------------

_NEW = re.compile(r"\b(new|first( time)?|never( been)?|haven't been|have not been)\b", re.I)
_RETURNING = re.compile(
    r"\b(returning|return|existing|been (there|here|before)|came before|seen (you|there) "
    r"before|again|previous|current)\b", re.I)


# "dunno", "not sure": no answer, whatever the classifier makes of it (it has read
# "dunno" as "no", which would have made the patient a new one)
UNSURE = re.compile(r"\b(dunno|idk|don'?t know|do not know|not sure|unsure|no idea|can'?t remember|"
                    r"cannot remember|don'?t remember|maybe|not certain)\b", re.I)


def read_patient_type(text: str) -> Optional[str]:
    """'new' or 'returning' from the patient's answer, or None."""
    text = text or ""
    is_new, is_returning = bool(_NEW.search(text)), bool(_RETURNING.search(text))
    if is_new == is_returning:
        return None
    return "new" if is_new else "returning"


# ---- the request, as the patient and staff see it -----------------------------------------

FIELDS = {
    "booking_name": "Name",
    "booking_contact": "Phone or email",
    "booking_times": "Preferred times",
    "booking_reason": "Reason for the visit",
    "booking_patient_type": "New or returning",
}


def contact_text(phone: Optional[str], email: Optional[str]) -> str:
    pieces = [format_phone(phone)] if phone else []
    if email:
        pieces.append(email)
    return " and ".join(pieces)


def summary_lines(slots: dict[str, Any]) -> list[str]:
    """The request field by field, for the confirmation message and the staff email."""
    patient_type = slots.get("booking_patient_type")
    return [
        f"Name: {slots.get('booking_name') or ''}",
        f"Phone or email: {contact_text(slots.get('contact_phone'), slots.get('contact_email'))}",
        f"Preferred times: {slots.get('booking_times') or ''}",
        f"Reason for the visit: {slots.get('booking_reason') or ''}",
        f"New or returning: {'new patient' if patient_type == 'new' else 'returning patient'}",
    ]


def field_to_change(text: str) -> Optional[str]:
    """Which field the patient wants to change ("the time", "my phone number", ...)."""
    text = (text or "").lower()
    choices = (
        ("booking_contact", r"phone|number|email|e-mail|contact"),
        ("booking_times", r"time|day|date|when|morning|afternoon|evening|schedule"),
        ("booking_reason", r"reason|condition|why|problem|pain"),
        ("booking_patient_type", r"new|returning|patient type|been before"),
        ("booking_name", r"name"),
    )
    for slot, pattern in choices:
        if re.search(pattern, text):
            return slot
    return text if text in FIELDS else None


def staff_email(request_id: int, slots: dict[str, Any], conversation_id: str,
                channel: str, clinic_name: str) -> tuple[str, str]:
    """Subject and body of the email that tells staff about a new booking request."""
    subject = f"New booking request #{request_id}: {slots.get('booking_name') or 'patient'}"
    body = "\n".join([
        f"A patient asked {clinic_name}'s assistant for an appointment.",
        "Please contact them to confirm a time: nothing has been booked yet.",
        "",
        *summary_lines(slots),
        "",
        f"Request #{request_id}, conversation {conversation_id} ({channel}).",
    ])
    return subject, body
