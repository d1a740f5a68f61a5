"""Answers to "are you open on Boxing Day?" / "what time do you open tomorrow?": which
day the patient asks about, and what the clinic's hours and closures say of it.

The day is found by the ``holidays`` library (Canadian holidays of the clinic's province,
by name), by name for the two eves it does not list, or by dateparser ("tomorrow",
"Friday", "December 24"). The answer comes only from the clinic's own hours and
closures (clinic_assistant/clinic/profile.py): a public holiday the clinic has posted no
closure for is answered with the usual hours and a request to call to confirm, never
with a guess that the clinic is closed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from clinic_assistant.clinic.profile import DAYS, ClinicProfile, clock_text, day_text

# the holidays library's subdivision codes
PROVINCES = {"alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
             "newfoundland and labrador": "NL", "nova scotia": "NS", "ontario": "ON",
             "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK"}
# days patients name that are not public holidays, (month, day)
EVES = {"christmas eve": (12, 24), "new years eve": (12, 31)}  # (apostrophes are dropped first)
# words that make a found date a day the patient asked about (dateparser alone reads
# "may" or "sun" in any sentence as a date)
# month names ("may" is left out: "may I ask ..."; a date with it is found by dateparser)
_MONTHS = (r"january|february|march|april|june|july|august|september|october|november|december|"
           r"jan|feb|mar|apr|jun|jul|aug|sept|oct|nov|dec")
_DAY_WORDS = re.compile(
    rf"\b(today|tonight|tomorrow|{'|'.join(DAYS)}|tues|thurs|{_MONTHS}|\d{{1,2}}(st|nd|rd|th)?)\b", re.I)
# "the 26th": a day of this month (or the next, once it is past)
_ORDINAL = re.compile(r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b", re.I)
# "for the next 2 weeks", "over the holidays": more than one day; the week's hours answer it
_SPAN_WORDS = re.compile(r"\b(next|coming|few|couple of)\s+(\d+\s+)?(days|weeks|months)\b|\bweekends?\b", re.I)


@dataclass(frozen=True)
class AskedDay:
    day: date
    holiday: str = ""  # its name, when it is one


def holiday_names(profile: ClinicProfile, years: list[int]) -> dict[date, str]:
    import holidays

    province = profile.province.strip()
    subdivision = province.upper() if province.upper() in PROVINCES.values() else PROVINCES.get(province.lower())
    found = holidays.country_holidays("CA", subdiv=subdivision, years=years,
                                      categories=("public", "optional"))
    return {day: name.replace("Labor", "Labour") for day, name in found.items() if "(observed)" not in name}


def asked_day(text: str, profile: ClinicProfile, now: datetime) -> Optional[AskedDay]:
    """The day a message asks about (the next one of that name), or None."""
    from dateparser.search import search_dates

    today = now.astimezone(ZoneInfo(profile.timezone)).date()
    words = " ".join(re.sub(r"['’`]", "", text.lower()).replace("xmas", "christmas")
                     .replace("labor", "labour").split())
    for eve, (month, day_of_month) in EVES.items():
        if eve in words:
            day = date(today.year, month, day_of_month)
            day = day if day >= today else date(today.year + 1, month, day_of_month)
            return AskedDay(day, "Christmas Eve" if month == 12 and day_of_month == 24 else "New Year's Eve")
    names = holiday_names(profile, [today.year, today.year + 1])
    for day, name in sorted(names.items()):
        if day >= today and _names(words, name):
            return AskedDay(day, name)
    if _SPAN_WORDS.search(words):
        return None
    ordinal = _ORDINAL.search(words)
    if ordinal and not re.search(rf"\b(may|{_MONTHS})\b", words):
        number = int(ordinal.group(1))
        for months_ahead in (0, 1, 2):
            year, month = divmod(today.month - 1 + months_ahead, 12)
            try:
                day = date(today.year + year, month + 1, number)
            except ValueError:
                continue
            if day >= today:
                return AskedDay(day, names.get(day, ""))
        return None
    for weekday, name in enumerate(DAYS):  # "are you open friday?" on a Friday: today
        if weekday == today.weekday() and re.search(rf"\b{name}\b", words) and not re.search(r"\bnext\b", words):
            return AskedDay(today, names.get(today, ""))
    local = now.astimezone(ZoneInfo(profile.timezone)).replace(tzinfo=None)
    for found_words, moment in search_dates(
            text, languages=["en"],
            settings={"RELATIVE_BASE": local, "PREFER_DATES_FROM": "future"}) or []:
        if _DAY_WORDS.search(found_words) and today <= moment.date() <= today + timedelta(days=366):
            return AskedDay(moment.date(), names.get(moment.date(), ""))
    return None


def _names(words: str, holiday: str) -> bool:
    """Whether the message names the holiday ("boxing day", "labour day", "xmas", "new years")."""
    name = holiday.lower().replace("labor", "labour").replace("'", "")
    if name == "christmas day":
        return re.search(r"\bchristmas\b(?! eve)", words) is not None
    short = name.removesuffix(" day")
    return name in words or ((len(short.split()) > 1 or short in _ALONE) and re.search(rf"\b{short}\b", words) is not None)


_ALONE = {"thanksgiving", "remembrance", "boxing"}  # holiday names patients use without "day"


def day_label(asked: AskedDay) -> str:
    text = day_text(asked.day)
    return f"{text} ({asked.holiday})" if asked.holiday else text


def next_opening_after(profile: ClinicProfile, day: date) -> str:
    zone = ZoneInfo(profile.timezone)
    opening = profile.next_opening(datetime.combine(day, datetime.max.time(), tzinfo=zone))
    if opening is None:
        return ""
    return f"{day_text(opening.date())} at {clock_text(opening.time())}"


def hours_answer(profile: ClinicProfile, asked: AskedDay) -> tuple[str, dict[str, str]]:
    """The response to send and its values."""
    span = profile.hours_on(asked.day)
    closures = profile.closures_on(asked.day)
    values = {"hours_day": day_label(asked), "hours_reason": "", "hours_next": "", "hours_span": ""}
    # the closure's note, unless the day already has its holiday's name
    notes = [closure.note for closure in closures if closure.note and not asked.holiday]
    if span is None:
        values["hours_reason"] = f" ({notes[0]})" if notes else ""
        values["hours_next"] = next_opening_after(profile, asked.day) or "on our next working day"
        return "utter_hours_day_closed", values
    values["hours_span"] = f"{clock_text(span.opens)} to {clock_text(span.closes)}"
    usual = profile.hours.get(DAYS[asked.day.weekday()])
    if closures and usual is not None and span.closes < usual.closes:  # closing early that day
        values["hours_reason"] = f" ({notes[0]})" if notes else ""
        return "utter_hours_day_short", values
    if asked.holiday:
        return "utter_hours_day_holiday", values
    return "utter_hours_day_open", values
