"""The clinic profile: name, city, contact details, booking link and opening hours.

Loaded from one YAML file (``clinic/profile.yml`` by default). Every clinic fact the
assistant states comes from here; responses reach the values through slots that
``action_session_start`` fills.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
REQUIRED = ("name", "city", "phone", "email", "address", "booking_link")


class ProfileError(ValueError):
    """The clinic profile file is missing a field or has a malformed value."""


@dataclass(frozen=True)
class OpeningHours:
    """Opening hours for one day."""

    opens: time
    closes: time


@dataclass(frozen=True)
class Closure:
    """Days the clinic is closed (``start`` to ``end``, both included), or closes early
    on ``start`` (``closes_at``, then ``end`` is ``start``): "closed December 24-26",
    "closing at noon on December 31". Dates in the clinic's time zone."""

    start: date
    end: date
    closes_at: time | None = None
    note: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    def text(self) -> str:
        """As patients read it: "closed December 24 to 26 (holidays)"."""
        if self.closes_at is not None:
            words = f"closing at {clock_text(self.closes_at)} on {day_text(self.start)}"
        elif self.start == self.end:
            words = f"closed on {day_text(self.start)}"
        elif self.start.month == self.end.month:
            words = f"closed {self.start:%B} {self.start.day} to {self.end.day}"
        else:
            words = f"closed {self.start:%B} {self.start.day} to {self.end:%B} {self.end.day}"
        return words + (f" ({self.note})" if self.note else "")

    @classmethod
    def from_dict(cls, raw: Any) -> "Closure":
        if not isinstance(raw, dict) or "start" not in raw:
            raise ProfileError(f"a closure needs at least a start date, got {raw!r}")
        try:
            start = date.fromisoformat(str(raw["start"]))
            end = date.fromisoformat(str(raw.get("end") or raw["start"]))
            closes_at = time.fromisoformat(str(raw["closes_at"])) if raw.get("closes_at") else None
        except ValueError as error:
            raise ProfileError(f"closure {raw!r}: dates are YYYY-MM-DD, times HH:MM ({error})") from None
        if end < start:
            raise ProfileError(f"closure {raw!r}: it ends before it starts")
        if closes_at is not None and end != start:
            raise ProfileError(f"closure {raw!r}: closing early is for one day")
        return cls(start, end, closes_at, str(raw.get("note") or "").strip()[:80])

    def as_dict(self) -> dict[str, str]:
        raw = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.closes_at is not None:
            raw["closes_at"] = self.closes_at.strftime("%H:%M")
        if self.note:
            raw["note"] = self.note
        return raw


# how far ahead the first-contact line and the hours answer mention a closure
NOTICE_DAYS = 3


@dataclass(frozen=True)
class ClinicProfile:
    """The clinic's facts, as the clinic wrote them in the profile file."""

    name: str
    city: str
    province: str
    phone: str
    email: str
    address: str
    booking_link: str
    timezone: str = "America/Edmonton"
    hours: dict[str, OpeningHours] = field(default_factory=dict)
    closures: tuple[Closure, ...] = ()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "ClinicProfile":
        missing = [key for key in REQUIRED if not str(raw.get(key) or "").strip()]
        if missing:
            raise ProfileError(f"clinic profile is missing: {', '.join(missing)}")
        hours: dict[str, OpeningHours] = {}
        for day, span in (raw.get("hours") or {}).items():
            day_key = str(day).strip().lower()
            if day_key not in DAYS:
                raise ProfileError(f"clinic profile hours: unknown day {day!r}")
            match = _HOURS_RE.match(str(span))
            if not match:
                raise ProfileError(
                    f"clinic profile hours for {day_key}: expected 'HH:MM-HH:MM', "
                    f"got {span!r}"
                )
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            hours[day_key] = OpeningHours(time(h1, m1), time(h2, m2))
        timezone = str(raw.get("timezone") or "America/Edmonton")
        ZoneInfo(timezone)  # raises for an unknown zone
        closures = tuple(sorted((Closure.from_dict(item) for item in raw.get("closures") or []),
                                key=lambda closure: closure.start))
        return cls(
            name=str(raw["name"]).strip(),
            city=str(raw["city"]).strip(),
            province=str(raw.get("province") or "").strip(),
            phone=str(raw["phone"]).strip(),
            email=str(raw["email"]).strip(),
            address=str(raw["address"]).strip(),
            booking_link=str(raw["booking_link"]).strip(),
            timezone=timezone,
            hours=hours,
            closures=closures,
        )

    @classmethod
    def load(cls, path: Path) -> "ClinicProfile":
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ProfileError(f"clinic profile not found at {path}") from exc
        if not isinstance(raw, dict):
            raise ProfileError(f"clinic profile {path} is not a YAML mapping")
        return cls.from_dict(raw)

    def hours_text(self) -> str:
        """Opening hours as a patient reads them, e.g. 'Monday to Thursday 8 a.m. to 6 p.m.'."""
        if not self.hours:
            return ""
        groups: list[tuple[list[str], OpeningHours]] = []
        for day in DAYS:
            span = self.hours.get(day)
            if span is None:
                continue
            previous = groups[-1] if groups else None
            if (
                previous is not None
                and previous[1] == span
                and DAYS.index(previous[0][-1]) == DAYS.index(day) - 1
            ):
                previous[0].append(day)
            else:
                groups.append(([day], span))
        parts = []
        for days, span in groups:
            label = days[0].title() if len(days) == 1 else (
                f"{days[0].title()} to {days[-1].title()}"
            )
            parts.append(f"{label} {clock_text(span.opens)} to {clock_text(span.closes)}")
        return "; ".join(parts)

    def hours_on(self, day: date) -> OpeningHours | None:
        """The opening hours of one date, closures included (None: closed all day)."""
        span = self.hours.get(DAYS[day.weekday()])
        for closure in self.closures:
            if span is not None and closure.covers(day):
                if closure.closes_at is None or closure.closes_at <= span.opens:
                    return None
                span = OpeningHours(span.opens, min(span.closes, closure.closes_at))
        return span

    def closures_on(self, day: date) -> list[Closure]:
        return [closure for closure in self.closures if closure.covers(day)]

    def closure_notice(self, moment: datetime) -> str:
        """The closures in effect or starting within NOTICE_DAYS days, as one sentence
        ("Please note: we're closed December 24 to 26."), or ""."""
        today = moment.astimezone(ZoneInfo(self.timezone)).date()
        soon = [closure.text() for closure in self.closures
                if closure.end >= today and closure.start <= today + timedelta(days=NOTICE_DAYS)]
        if not soon:
            return ""
        return "Please note: we're " + "; ".join(soon) + "."

    def is_open(self, moment: datetime) -> bool:
        """Whether the clinic is open at ``moment`` (an aware datetime)."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        span = self.hours_on(local.date())
        return span is not None and span.opens <= local.time() < span.closes

    def next_opening(self, moment: datetime) -> datetime | None:
        """When the clinic next opens after ``moment`` (None if no hours are listed)."""
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        for offset in range(0, 8 + sum((c.end - c.start).days + 1 for c in self.closures)):
            day = (local + timedelta(days=offset)).date()
            span = self.hours_on(day)
            if span is None:
                continue
            opening = datetime.combine(day, span.opens, tzinfo=zone)
            if opening > local:
                return opening
        return None

    def opening_text(self, moment: datetime) -> str:
        """The next opening as patients read it: "Monday at 8 a.m."."""
        opening = self.next_opening(moment)
        if opening is None:
            return "our next opening"
        local = moment.astimezone(ZoneInfo(self.timezone))
        if opening.date() == local.date():
            day = "today"
        elif opening.date() == (local + timedelta(days=1)).date():
            day = "tomorrow"
        else:
            day = DAYS[opening.weekday()].title()
        return f"{day} at {clock_text(opening.time())}"

    def as_slots(self, moment: datetime | None = None) -> dict[str, str]:
        """The slot values that responses use, e.g. ``{clinic_phone}``; ``clinic_notice``
        is a closure in effect or coming soon, as a sentence after a space, or ""."""
        notice = self.closure_notice(moment or datetime.now(ZoneInfo(self.timezone)))
        return {
            "clinic_name": self.name,
            "clinic_city": self.city,
            "clinic_phone": self.phone,
            "clinic_email": self.email,
            "clinic_address": self.address,
            "clinic_booking_link": self.booking_link,
            "clinic_hours": self.hours_text() or "not listed yet",
            "clinic_notice": f" {notice}" if notice else "",
        }

    def as_dict(self) -> dict[str, Any]:
        """What ``from_dict`` reads (the details staff edit in the console)."""
        return {
            "name": self.name, "city": self.city, "province": self.province, "phone": self.phone,
            "email": self.email, "address": self.address, "booking_link": self.booking_link,
            "timezone": self.timezone,
            "hours": {day: f"{span.opens:%H:%M}-{span.closes:%H:%M}" for day, span in self.hours.items()},
            "closures": [closure.as_dict() for closure in self.closures],
        }


def day_text(day: date, weekday: bool = True) -> str:
    """A date as patients and staff read it: "Thursday, December 24" ("December 24")."""
    text = f"{day:%B} {day.day}"
    return f"{DAYS[day.weekday()].title()}, {text}" if weekday else text


def clock_text(moment: time) -> str:
    """A clock time as patients read it: "8 a.m.", "2:30 p.m."."""
    suffix = "a.m." if moment.hour < 12 else "p.m."
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {suffix}" if moment.minute else f"{hour} {suffix}"


_cache: dict[Path, tuple[float, ClinicProfile]] = {}


def current_profile(path: Path) -> ClinicProfile:
    """The profile at ``path``, re-read only when the file changes (one ``stat`` a call).

    The action server calls this on every turn that states a clinic fact, so an edit to
    the profile file is live without a restart.
    """
    path = Path(path)
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        cached = (mtime, ClinicProfile.load(path))
        _cache[path] = cached
    return cached[1]
