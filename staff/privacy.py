"""Contact details and health numbers hidden in what staff see, unless revealed; in
the queues, also what patients typed (names, the visit's reason, preferred times).

Phone numbers are found with `phonenumbers` (Canadian numbers and international
ones), email addresses by their shape, and health-card-like numbers (Alberta's
personal health number has 9 digits; other provinces 10-12) as long digit runs.
"""
from __future__ import annotations

import re

import phonenumbers

PHONE_MASK = "[phone hidden]"
EMAIL_MASK = "[email hidden]"
NUMBER_MASK = "[number hidden]"
NAME_MASK = "[name hidden]"
TEXT_MASK = "[text hidden]"

EMAIL = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+\.[A-Za-z]{2,}")
# 9 to 12 digits, optionally grouped by spaces or dashes (e.g. 12345-6789, 1234 567 890)
HEALTH_NUMBER = re.compile(r"(?<![\d-])\d(?:[ -]?\d){8,11}(?![\d-])")


def e164(number: str) -> str:
    """A phone number in E.164 form ("" if it cannot be read)."""
    try:
        parsed = phonenumbers.parse(number, "CA")
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(text: str, keep: frozenset[str] = frozenset()) -> str:
    """The text with phone numbers, email addresses and health-card-like numbers
    hidden; phone numbers in ``keep`` (E.164, e.g. the clinic's own) stay."""
    if not text:
        return text
    masked = EMAIL.sub(EMAIL_MASK, text)
    spans = [
        (match.start, match.end)
        for match in phonenumbers.PhoneNumberMatcher(
            masked, "CA", leniency=phonenumbers.Leniency.POSSIBLE
        )
        if phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        not in keep
    ]
    for start, end in reversed(spans):
        masked = masked[:start] + PHONE_MASK + masked[end:]
    return HEALTH_NUMBER.sub(NUMBER_MASK, masked)


def mask_optional(value: str | None, keep: frozenset[str] = frozenset()) -> str | None:
    return mask(value, keep) if value else value


def _hidden(value: str | None, placeholder: str) -> str | None:
    return placeholder if value else value


def hide_contacts(handoffs: list[dict], bookings: list[dict], keep: frozenset[str] = frozenset(),
                  revealed: tuple[str, int] | None = None) -> None:
    """Hides what patients gave in queue items (as queues.items returns them), in place:
    contact details, names, a booking's reason and preferred times. The item
    ``revealed`` (kind, id) stays as it is; the others get ``masked`` set."""
    for kind, items in (("handoff", handoffs), ("booking", bookings)):
        for item in items:
            if (kind, item["id"]) == revealed:
                continue
            item["masked"] = True
            if kind == "handoff":
                item["contact_name"] = _hidden(item["contact_name"], NAME_MASK)
                item["contact_phone"] = mask_optional(item["contact_phone"])
                item["contact_email"] = mask_optional(item["contact_email"])
                for message in item.get("last_messages") or []:
                    message["text"] = mask(str(message.get("text", "")), keep)
            else:
                item["name"] = _hidden(item["name"], NAME_MASK)
                item["phone"] = mask_optional(item["phone"])
                item["email"] = mask_optional(item["email"])
                item["preferred_times"] = _hidden(item["preferred_times"], TEXT_MASK)
                item["reason"] = _hidden(item["reason"], TEXT_MASK)
