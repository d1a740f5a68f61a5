"""Reading booking answers: names, preferred times, new or returning, and the staff email."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from clinic_assistant.clinic.booking import (
    field_to_change,
    read_name,
    read_patient_type,
    read_preferred_times,
    staff_email,
    summary_lines,
)
from clinic_assistant.clinic.notify import SmtpSettings

TUESDAY_MORNING = datetime(2026, 11, 24, 10, 0)


@pytest.mark.parametrize(
    "text, name",
    [("Sam Lee", "Sam Lee"), ("my name is sam lee", "Sam Lee"), ("i'm PRIYA", "Priya"),
     ("Ève O'Neil-Smith", "Ève O'Neil-Smith")],
)
def test_names(text: str, name: str) -> None:
    assert read_name(text) == name


@pytest.mark.parametrize("text", ["780-555-0123", "sam@example.com", "what is dry needling?",
                                  "", "a b c d e f g", "x" * 70, "yes", "Yes.", "ok thanks", "hi",
                                  "Hello", "nope", "idk", "sure!", "thank you"])
def test_not_names(text: str) -> None:
    assert read_name(text) is None


@pytest.mark.parametrize(
    "text, summary",
    [
        ("Tuesday afternoon", "Tuesday, December 1, afternoon"),
        ("mornings next week", "the week of November 30, morning"),
        ("tomorrow at 3pm", "Wednesday, November 25, 3 p.m."),
        ("thursday or friday morning", "Thursday, November 26 or Friday, November 27, morning"),
        ("any time", "any time"),
        ("whenever suits the physio", "any time"),
        ("as soon as you can", "as soon as you can"),  # not recognised: kept as typed
    ],
)
def test_preferred_times_are_understood_and_echoed(text: str, summary: str) -> None:
    assert read_preferred_times(text, TUESDAY_MORNING).summary() == summary


def test_a_past_date_is_noticed() -> None:
    times = read_preferred_times("yesterday", TUESDAY_MORNING)
    assert times.past == (date(2026, 11, 23),) and not times.days


@pytest.mark.parametrize("text, kind", [("new", "new"), ("first time", "new"),
                                        ("I've been before", "returning"),
                                        ("returning patient", "returning"), ("maybe", None)])
def test_new_or_returning(text: str, kind: str | None) -> None:
    assert read_patient_type(text) == kind


@pytest.mark.parametrize("text, slot", [("the time", "booking_times"),
                                        ("my phone number", "booking_contact"),
                                        ("name", "booking_name"), ("reason", "booking_reason"),
                                        ("new or returning", "booking_patient_type"),
                                        ("hmm", None)])
def test_which_field_to_change(text: str, slot: str | None) -> None:
    assert field_to_change(text) == slot


SLOTS = {"booking_name": "Sam Lee", "contact_phone": "+17805550123", "contact_email": None,
         "booking_times": "Tuesday, December 1, afternoon", "booking_reason": "TMJ dysfunction",
         "booking_patient_type": "new"}


def test_staff_email_says_nothing_is_booked_yet() -> None:
    subject, body = staff_email(7, SLOTS, "conv-1", "rest", "GP Pain & Physiotherapy")
    assert subject == "New booking request #7: Sam Lee"
    assert "nothing has been booked yet" in body
    for line in summary_lines(SLOTS):
        assert line in body
    assert "Phone or email: (780) 555-0123" in body
    assert "conversation conv-1 (rest)" in body


def test_smtp_settings_from_the_environment() -> None:
    assert SmtpSettings.from_env({}) is None
    settings = SmtpSettings.from_env({"SMTP_HOST": "mail.example.com",
                                      "CLINIC_NOTIFY_EMAIL": "desk@example.com",
                                      "SMTP_USER": "bot@example.com", "SMTP_PASSWORD": "x"})
    assert settings is not None
    assert (settings.port, settings.tls, settings.sender) == (587, "starttls", "bot@example.com")
    with pytest.raises(ValueError):
        SmtpSettings.from_env({"SMTP_HOST": "h", "CLINIC_NOTIFY_EMAIL": "r", "SMTP_TLS": "maybe"})
