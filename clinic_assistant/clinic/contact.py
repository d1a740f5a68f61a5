"""Contact details from what a patient types: a North American phone number
(normalised to E.164 with ``phonenumbers``), an email address (syntax checked with
``email-validator``), and the name around them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import phonenumbers
from email_validator import EmailNotValidError, validate_email

REGION = "CA"
_EMAIL_CANDIDATE = re.compile(r"[^\s,;<>()]+@[^\s,;<>()]+")
_SKIP = re.compile(
    r"^\s*(skip|no|nope|no thanks|no thank you|rather not|i'd rather not|pass|n/a|na|none|"
    r"don't want to|prefer not to say|not now)\s*[.!]*\s*$",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"\b(my|name|is|i'm|im|i am|it's|its|this|phone|number|email|e-mail|cell|call|me|at|"
    r"on|and|or|you|can|reach|the|mail|please|pls|plz|thanks|thank|ok|okay|sure|yes)\b|[:,;.!-]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Contact:
    name: Optional[str] = None
    phone: Optional[str] = None  # E.164, e.g. +17805550123
    email: Optional[str] = None

    @property
    def reachable(self) -> bool:
        return bool(self.phone or self.email)


def is_skip(text: str) -> bool:
    return bool(_SKIP.match(text or ""))


def find_phone(text: str) -> Optional[str]:
    """The first valid North American phone number in ``text``, as E.164."""
    for match in phonenumbers.PhoneNumberMatcher(text, REGION):
        number = match.number
        if phonenumbers.is_valid_number(number) and number.country_code == 1:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def find_email(text: str) -> Optional[str]:
    """The first syntactically valid email address in ``text``, normalised."""
    for candidate in _EMAIL_CANDIDATE.findall(text):
        try:
            return validate_email(candidate.strip("."), check_deliverability=False).normalized
        except EmailNotValidError:
            continue
    return None


def parse_contact(text: str) -> Contact:
    """Name, phone and email from one message, e.g. "Sam Lee, 780 555 0123"."""
    phone = find_phone(text)
    email = find_email(text)
    rest = text
    if email:
        rest = _EMAIL_CANDIDATE.sub(" ", rest)
    if phone:
        for match in phonenumbers.PhoneNumberMatcher(text, REGION):
            rest = rest.replace(match.raw_string, " ")
    rest = re.sub(r"\d", " ", rest)
    words = _FILLER.sub(" ", rest).split()
    name = " ".join(words).strip() or None
    if name and (len(name) > 80 or len(words) > 5 or "@" in name):
        name = None
    return Contact(name=name.title() if name and name.islower() else name, phone=phone, email=email)


def format_phone(e164: str) -> str:
    """A phone number as patients read it: (780) 555-0123."""
    number = phonenumbers.parse(e164, REGION)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
