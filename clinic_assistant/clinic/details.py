"""The clinic's details as staff keep them current in the console (issue #19): phone,
email, address, booking link, opening hours and dated closures.

``clinic/profile.yml`` holds the clinic's details as shipped; a change made in the
console is *proposed* by one member of staff and *approved* by another, and the newest
approved version is laid over the file. Every reader of clinic facts (the actions, the
Rasa server's answer texts, the console) goes through :func:`live_profile`, which looks
for a newer approved version at most once a second, so an approved change is what the
bot says within about a second, without a restart. Every version is kept: who proposed
it and why, who approved it, and any of them can be restored as a new version.
"""
from __future__ import annotations

import difflib
import json
import re
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Optional
from urllib.parse import urlsplit

import phonenumbers
import sqlalchemy as sa
import yaml
from email_validator import EmailNotValidError, validate_email

from clinic_assistant.clinic.db import clinic_detail_versions, engine_for, serialize_writers
from clinic_assistant.clinic.profile import DAYS, ClinicProfile, Closure, ProfileError, current_profile
from clinic_assistant.settings import Settings

EDITABLE = ("phone", "email", "address", "booking_link", "hours", "closures")
MAX_CLOSURES = 50
MAX_ID = 2**31 - 1  # a version id in a URL (larger ones are no version: 404)
LONGEST_CLOSURE_DAYS = 366
FURTHEST_CLOSURE_DAYS = 2 * 366  # how far ahead a closure may start (a typo'd year is refused)
CHECK_EVERY_SECONDS = 1.0
PROPOSED, APPROVED, REJECTED = "proposed", "approved", "rejected"
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class DetailsError(ValueError):
    """A proposal or decision that cannot be made, with every reason (one per field)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {text}" for field, text in problems.items()))
        self.problems = problems


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- reading a form -------------------------------------------------------------------
def check_details(form: dict[str, Any], today: date) -> dict[str, Any]:
    """The editable details from a form's fields, checked; raises DetailsError naming
    each field that is wrong and how to write it.

    Fields: phone, email, address, booking_link, hours_<day> ("08:00-18:00" or empty
    for closed), closures (a list of dicts: start, end, closes_at, note; new ones may not
    end before ``today``, the clinic's date)."""
    problems: dict[str, str] = {}
    details: dict[str, Any] = {}
    phone = str(form.get("phone") or "").strip()
    try:
        number = phonenumbers.parse(phone, "CA")
        if not phonenumbers.is_valid_number(number):
            raise phonenumbers.NumberParseException(0, "not a valid number")
        details["phone"] = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 1
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        problems["phone"] = "a phone number with its area code, like (780) 555-0100"
    try:
        details["email"] = validate_email(str(form.get("email") or "").strip(),
                                          check_deliverability=False).normalized
    except EmailNotValidError as error:
        problems["email"] = f"an email address, like frontdesk@yourclinic.ca ({error})"
    address = " ".join(str(form.get("address") or "").split())
    if not 5 <= len(address) <= 200:
        problems["address"] = "the street address, 5 to 200 characters"
    details["address"] = address
    link = str(form.get("booking_link") or "").strip()
    parts = urlsplit(link)
    if parts.scheme != "https" or not parts.netloc or " " in link or len(link) > 300:
        problems["booking_link"] = "a web address starting with https://"
    details["booking_link"] = link
    hours: dict[str, str] = {}
    for day in DAYS:
        text = str(form.get(f"hours_{day}") or "").strip()
        if not text:
            continue
        match = _SPAN.match(text)
        spans = [int(part) for part in match.groups()] if match else []
        if (not spans or spans[0] > 23 or spans[2] > 23 or spans[1] > 59 or spans[3] > 59
                or (spans[0], spans[1]) >= (spans[2], spans[3])):
            problems[f"hours_{day}"] = "opening and closing times like 08:00-18:00, or empty when closed"
            continue
        hours[day] = f"{spans[0]:02d}:{spans[1]:02d}-{spans[2]:02d}:{spans[3]:02d}"
    details["hours"] = hours
    closures = []
    given = list(form.get("closures") or [])
    if len(given) > MAX_CLOSURES:
        problems["closures"] = f"at most {MAX_CLOSURES} closures; remove some that are over"
    for index, raw in enumerate(given[:MAX_CLOSURES]):
        try:
            closure = Closure.from_dict({key: value for key, value in raw.items() if value and key != "new"})
        except ProfileError as error:
            problems[f"closure_{index}"] = str(error).replace("closure {", "{")
            continue
        if closure.end < today:
            if raw.get("new"):
                problems[f"closure_{index}"] = "this closure would already be over"
            continue  # one that is over is not kept
        if raw.get("new") and ((closure.end - closure.start).days >= LONGEST_CLOSURE_DAYS
                               or (closure.start - today).days > FURTHEST_CLOSURE_DAYS):
            problems[f"closure_{index}"] = "check the year: a closure is at most a year long and starts within two years"
            continue
        closures.append(closure.as_dict())
    details["closures"] = sorted(closures, key=lambda item: item["start"])
    if problems:
        raise DetailsError(problems)
    return details


# --- versions ----------------------------------------------------------------------
@dataclass(frozen=True)
class Version:
    id: int
    details: dict[str, Any]
    reason: str
    status: str
    based_on: Optional[int]
    restored_from: Optional[int]
    proposed_by: str
    proposed_at: datetime
    decided_by: Optional[str]
    decided_at: Optional[datetime]


def _version(row: Any) -> Version:
    return Version(row["id"], json.loads(row["details"]), row["reason"], row["status"], row["based_on"],
                   row["restored_from"], row["proposed_by"], row["proposed_at"], row["decided_by"],
                   row["decided_at"])


def _live_query() -> Any:
    # the newest approved one: approvals and restores take turns (serialize_writers) and
    # a proposal is approved only on the version it was made on, so ids follow approvals
    return (sa.select(clinic_detail_versions).where(clinic_detail_versions.c.status == APPROVED)
            .order_by(clinic_detail_versions.c.id.desc()).limit(1))


def live_version(engine: sa.engine.Engine) -> Optional[Version]:
    """The approved version the bot uses (None: only the profile file)."""
    with engine.connect() as connection:
        row = connection.execute(_live_query()).mappings().first()
    return _version(row) if row else None


def versions(engine: sa.engine.Engine, status: Optional[str] = None) -> list[Version]:
    query = sa.select(clinic_detail_versions).order_by(clinic_detail_versions.c.id.desc())
    if status:
        query = query.where(clinic_detail_versions.c.status == status)
    with engine.connect() as connection:
        return [_version(row) for row in connection.execute(query).mappings()]


def version(engine: sa.engine.Engine, version_id: int) -> Optional[Version]:
    with engine.connect() as connection:
        row = connection.execute(sa.select(clinic_detail_versions)
                                 .where(clinic_detail_versions.c.id == version_id)).mappings().first()
    return _version(row) if row else None


STALE_FORM = ("the clinic details changed while you were editing (someone's change was approved); "
              "the form now shows the current details: make your change again")


def propose(engine: sa.engine.Engine, details: dict[str, Any], reason: str, username: str,
            seen: "int | None | str" = "any") -> int:
    """Saves a proposed change (checked details) on top of the live version; returns its
    id. ``seen``: the live version the form was made from (None: the file's details);
    a form made from an older one is refused, as it would undo the newer change."""
    why = " ".join(reason.split())[:500]
    if not why:
        raise DetailsError({"reason": "say in a few words why (it is kept with the version)"})
    live = live_version(engine)
    if seen != "any" and seen != (live.id if live else None):
        raise DetailsError({"form": STALE_FORM})
    with engine.begin() as connection:
        result = connection.execute(clinic_detail_versions.insert().values(
            details=json.dumps({key: details[key] for key in EDITABLE}), reason=why, status=PROPOSED,
            based_on=live.id if live else None, proposed_by=username, proposed_at=_now()))
        return int(result.inserted_primary_key[0])


def decide(engine: sa.engine.Engine, version_id: int, username: str, approve: bool) -> Version:
    """Approves (it is live at once) or rejects a proposal. The author cannot decide on
    their own proposal; a proposal made before another change went live must be made
    again (approving it would quietly undo that change)."""
    with engine.begin() as connection:
        serialize_writers(connection, clinic_detail_versions)
        row = connection.execute(sa.select(clinic_detail_versions)
                                 .where(clinic_detail_versions.c.id == version_id)).mappings().first()
        if row is None or row["status"] != PROPOSED:
            raise DetailsError({"proposal": "there is no such proposal waiting (it may have been decided already)"})
        if row["proposed_by"] == username:
            raise DetailsError({"proposal": "a change needs a second person: someone other than its author "
                                            "approves or rejects it"})
        live = connection.execute(_live_query()).mappings().first()
        if approve and (live["id"] if live else None) != row["based_on"]:
            raise DetailsError({"proposal": "the clinic details changed after this was proposed; reject it "
                                            "and propose the change again on the current details"})
        changed = connection.execute(clinic_detail_versions.update().where(
            clinic_detail_versions.c.id == version_id, clinic_detail_versions.c.status == PROPOSED).values(
            status=APPROVED if approve else REJECTED, decided_by=username, decided_at=_now()))
        if changed.rowcount == 0:
            raise DetailsError({"proposal": "someone decided on it at the same moment"})
    decided = version(engine, version_id)
    assert decided is not None
    return decided


def restore(engine: sa.engine.Engine, version_id: int, username: str, reason: str) -> int:
    """Makes an earlier approved version (or the profile file's details, id 0) live again,
    as a new version; returns its id."""
    why = " ".join(reason.split())[:500] or f"restored version {version_id}"
    if version_id == 0:
        details: Optional[dict[str, Any]] = None
    else:
        old = version(engine, version_id)
        if old is None or old.status != APPROVED:
            raise DetailsError({"version": "only a version that was approved can be restored"})
        details = old.details
    with engine.begin() as connection:
        serialize_writers(connection, clinic_detail_versions)
        live = connection.execute(_live_query()).mappings().first()
        moment = _now()
        result = connection.execute(clinic_detail_versions.insert().values(
            details=json.dumps(details), reason=why, status=APPROVED, based_on=live["id"] if live else None,
            restored_from=version_id, proposed_by=username, proposed_at=moment, decided_by=username,
            decided_at=moment))
        return int(result.inserted_primary_key[0])


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The change between two sets of details, line by line ("- old", "+ new")."""
    def lines(details: dict[str, Any]) -> list[str]:
        text: str = yaml.safe_dump({key: details.get(key) for key in EDITABLE}, sort_keys=False,
                                   allow_unicode=True)
        return text.splitlines()
    return [line for line in difflib.unified_diff(lines(before), lines(after), lineterm="", n=0)
            if not line.startswith(("---", "+++", "@@"))]


# --- what the bot says -----------------------------------------------------------------
def apply(base: ClinicProfile, details: Optional[dict[str, Any]]) -> ClinicProfile:
    if not details:
        return base
    return ClinicProfile.from_dict({**base.as_dict(), **{key: details[key] for key in EDITABLE if key in details}})


_live: dict[str, tuple[float, Optional[dict[str, Any]]]] = {}
_applied: dict[str, tuple[ClinicProfile, ClinicProfile]] = {}  # details -> (file's profile, applied)


def live_profile(settings: Optional[Settings] = None) -> ClinicProfile:
    """The clinic profile the bot states now: the profile file with the newest approved
    version over it (the database is asked at most once a second per process)."""
    settings = settings or Settings.from_env()
    base = current_profile(settings.clinic.profile)
    url = settings.database.url
    checked, details = _live.get(url, (0.0, None))
    if clock.monotonic() - checked >= CHECK_EVERY_SECONDS:
        try:
            live = live_version(engine_for(url))
            details = live.details if live else None
        except sa.exc.SQLAlchemyError:  # the database is away: keep the last details known
            pass
        _live[url] = (clock.monotonic(), details)
    key = json.dumps(details, sort_keys=True)
    cached = _applied.get(key)
    if cached is None or cached[0] is not base:  # new details, or the file changed
        if len(_applied) > 16:
            _applied.clear()
        cached = _applied[key] = (base, apply(base, details))
    return cached[1]


def form_fields(profile: ClinicProfile) -> dict[str, Any]:
    """The form's fields filled with a profile's details."""
    written = profile.as_dict()
    fields: dict[str, Any] = {key: written[key] for key in ("phone", "email", "address", "booking_link", "closures")}
    fields.update({f"hours_{day}": written["hours"].get(day, "") for day in DAYS})
    return fields


def now_in(profile: ClinicProfile) -> datetime:
    """Now, in the clinic's time zone."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(profile.timezone))


def clinic_today(profile: ClinicProfile) -> date:
    return now_in(profile).date()

