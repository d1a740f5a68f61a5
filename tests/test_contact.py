"""Contact details from free text: phone numbers to E.164, email syntax, names, skip."""
from __future__ import annotations

import pytest

from clinic_assistant.clinic.contact import format_phone, is_skip, parse_contact


@pytest.mark.parametrize(
    "text, phone",
    [
        ("780-555-0123", "+17805550123"),
        ("(780) 555 0123", "+17805550123"),
        ("780.555.0123", "+17805550123"),
        ("7805550123", "+17805550123"),
        ("+1 780 555 0123", "+17805550123"),
        ("1-780-555-0123", "+17805550123"),
        ("call me at 780 555 0123 please", "+17805550123"),
    ],
)
def test_north_american_numbers_in_any_common_format(text: str, phone: str) -> None:
    assert parse_contact(text).phone == phone


@pytest.mark.parametrize("text", ["555-0123", "12345", "780-555-01", "my number is abc"])
def test_not_a_phone_number(text: str) -> None:
    assert parse_contact(text).phone is None


def test_email_and_name() -> None:
    contact = parse_contact("my name is jane doe and my email is Jane.Doe@Example.com")
    assert contact.email == "Jane.Doe@example.com"
    assert contact.name == "Jane Doe"
    assert parse_contact("sam@@example").email is None


def test_name_and_phone_in_one_message() -> None:
    contact = parse_contact("Sam Lee 780-555-0123")
    assert (contact.name, contact.phone) == ("Sam Lee", "+17805550123")
    assert format_phone(contact.phone) == "(780) 555-0123"


@pytest.mark.parametrize("text", ["skip", "Skip.", "no thanks", "rather not"])
def test_skip(text: str) -> None:
    assert is_skip(text)
    assert not is_skip("Skip Jones 780-555-0123")
