"""Opening hours for one day (issue #19): "are you open on Boxing Day?" is answered
from the clinic's hours and closures, a holiday with no posted closure is not guessed,
and a change approved in the staff console is what the running bot says a second later."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

import pytest

from clinic_assistant.clinic import details
from clinic_assistant.clinic.db import engine_for
from clinic_assistant.clinic.hours import asked_day, holiday_names, hours_answer
from clinic_assistant.clinic.profile import ClinicProfile
from clinic_assistant.settings import PROJECT_ROOT
from tests.harness.servers import texts

EDMONTON = ZoneInfo("America/Edmonton")
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=EDMONTON)  # a Wednesday
FILE = ClinicProfile.load(PROJECT_ROOT / "clinic" / "profile.yml")
HOLIDAYS = ClinicProfile.from_dict({**FILE.as_dict(), "closures": [
    {"start": "2026-12-24", "end": "2026-12-26", "note": "holidays"},
    {"start": "2026-12-31", "closes_at": "12:00"}]})


@pytest.mark.parametrize("message, response, values", [
    ("are you open on Boxing Day?", "utter_hours_day_closed",
     {"hours_day": "Saturday, December 26 (Boxing Day)", "hours_next": "Monday, December 28 at 8 a.m."}),
    ("r u open xmas eve", "utter_hours_day_closed", {"hours_day": "Thursday, December 24 (Christmas Eve)"}),
    ("what time do you close on new year's eve", "utter_hours_day_short",
     {"hours_day": "Thursday, December 31 (New Year's Eve)", "hours_span": "8 a.m. to 12 p.m."}),
    ("what time do you open tomorrow", "utter_hours_day_open",
     {"hours_day": "Thursday, December 3", "hours_span": "8 a.m. to 6 p.m."}),
    ("are you open Sunday?", "utter_hours_day_closed", {"hours_day": "Sunday, December 6", "hours_reason": ""}),
    ("open on Dec 23?", "utter_hours_day_open", {"hours_day": "Wednesday, December 23"}),
    ("are u open on the 26th", "utter_hours_day_closed", {"hours_day": "Saturday, December 26 (Boxing Day)"}),
    ("are you open wednesday?", "utter_hours_day_open", {"hours_day": "Wednesday, December 2"}),  # today
])
def test_a_day_is_answered_from_the_hours_and_closures(message: str, response: str, values: dict[str, str]) -> None:
    asked = asked_day(message, HOLIDAYS, NOW)
    assert asked is not None
    said, filled = hours_answer(HOLIDAYS, asked)
    assert said == response and values.items() <= filled.items(), filled


def test_a_holiday_without_a_posted_closure_is_not_guessed() -> None:
    asked = asked_day("are you open on new years day?", FILE, NOW)
    assert asked is not None and asked.day == date(2027, 1, 1)  # a Friday
    said, values = hours_answer(FILE, asked)
    # the usual Friday hours, and "call to check": never "closed" unless the clinic said so
    assert said == "utter_hours_day_holiday" and values["hours_span"] == "8 a.m. to 4 p.m."


def test_no_day_named_gets_the_weeks_hours() -> None:
    for message in ("what are your hours", "and on the weekend?", "when are you open",
                    "hours for the next 2 weeks", "I sat all day, when are you open"):
        assert asked_day(message, HOLIDAYS, NOW) is None, message


def test_the_first_contact_line_mentions_a_closure_in_effect_or_in_a_few_days() -> None:
    assert HOLIDAYS.as_slots(datetime(2026, 12, 20, 9, tzinfo=EDMONTON))["clinic_notice"] == ""
    assert HOLIDAYS.as_slots(datetime(2026, 12, 22, 9, tzinfo=EDMONTON))["clinic_notice"] == (
        " Please note: we're closed December 24 to 26 (holidays).")
    assert "closing at 12 p.m. on Thursday, December 31" in HOLIDAYS.as_slots(
        datetime(2026, 12, 29, 9, tzinfo=EDMONTON))["clinic_notice"]
    assert HOLIDAYS.as_slots(datetime(2027, 1, 1, 9, tzinfo=EDMONTON))["clinic_notice"] == ""


def test_an_approved_change_is_what_the_running_bot_says(bot: Any, expected_text: Callable[[str], str]) -> None:
    engine = engine_for(f"sqlite:///{bot.tracker_db}")
    today = datetime.now(EDMONTON).date()
    closed = today + timedelta(days=20)
    holidays = holiday_names(FILE, [closed.year, closed.year + 1])
    while closed.weekday() >= 5 or closed in holidays:  # a day it would otherwise be open
        closed += timedelta(days=1)
    fields = details.form_fields(FILE)
    fields.update(phone="(780) 555-0177", closures=[{"start": closed.isoformat(), "note": "staff training",
                                                       "new": True}])
    version = details.propose(engine, details.check_details(fields, today), "training day", "fay")
    details.decide(engine, version, "cleo", approve=True)
    try:
        time.sleep(details.CHECK_EVERY_SECONDS + 0.5)
        asked = f"are you open on {closed:%B} {closed.day}?"
        replies = " ".join(texts(bot.send("hours-approved", asked)))
        assert f"We're closed on {closed:%A}, {closed:%B} {closed.day} (staff training)" in replies, replies
        assert "m.." not in replies, replies  # "8 a.m.." at a sentence's end
        # the answer texts (rendered by the Rasa server) use the new phone at once
        contact = " ".join(texts(bot.send("hours-approved", "what is your phone number")))
        assert "(780) 555-0177" in contact and FILE.phone not in contact, contact
    finally:
        details.restore(engine, 0, "test", "back to the file")
        time.sleep(details.CHECK_EVERY_SECONDS + 0.5)
    assert FILE.phone in " ".join(texts(bot.send("hours-restored", "what is your phone number")))


async def test_with_no_hours_listed_a_day_is_not_answered_as_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions import hours

    no_hours = ClinicProfile.from_dict({**FILE.as_dict(), "hours": {}})
    monkeypatch.setattr(hours, "clinic_profile", lambda: no_hours)
    tracker = Tracker("c", {}, {"text": "are you open tomorrow?", "intent": {"name": "faq_hours"}}, [], False,
                      None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    await hours.ActionAnswerHours().run(dispatcher, tracker, {})
    assert [message["response"] for message in dispatcher.messages] == ["utter_faq_hours"]
    assert dispatcher.messages[0]["clinic_hours"] == "not listed yet"
