"""The clinic profile: loading, validation, hours as patients read them."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from clinic_assistant.clinic.profile import ClinicProfile, ProfileError, current_profile
from clinic_assistant.settings import PROJECT_ROOT

EDMONTON = ZoneInfo("America/Edmonton")


def test_shipped_profile_loads_and_is_marked_as_example() -> None:
    path = PROJECT_ROOT / "clinic" / "profile.yml"
    profile = ClinicProfile.load(path)
    assert profile.name == "GP Pain & Physiotherapy"
    assert profile.city == "Grande Prairie"
    # The shipped contact details are placeholders, and say so.
    assert "555-01" in profile.phone
    assert profile.email.endswith("example.com")
    assert "EXAMPLE" in path.read_text()


def test_hours_are_grouped_for_reading(profile_file: Path) -> None:
    profile = ClinicProfile.load(profile_file)
    assert profile.hours_text() == (
        "Monday to Tuesday 9 a.m. to 5 p.m.; Saturday 10 a.m. to 2:30 p.m."
    )


def test_is_open_uses_the_clinic_timezone(profile_file: Path) -> None:
    profile = ClinicProfile.load(profile_file)
    monday_10am = datetime(2026, 11, 23, 10, 0, tzinfo=EDMONTON)
    monday_6pm = datetime(2026, 11, 23, 18, 0, tzinfo=EDMONTON)
    sunday_noon = datetime(2026, 11, 22, 12, 0, tzinfo=EDMONTON)
    assert profile.is_open(monday_10am)
    assert not profile.is_open(monday_6pm)
    assert not profile.is_open(sunday_noon)
    # 17:30 UTC is 10:30 in Edmonton in November.
    assert profile.is_open(datetime(2026, 11, 23, 17, 30, tzinfo=ZoneInfo("UTC")))


@pytest.mark.parametrize(
    "change, message",
    [
        ("phone: ''", "missing: phone"),
        ("hours: {funday: '09:00-17:00'}", "unknown day"),
        ("hours: {monday: 'nine to five'}", "expected 'HH:MM-HH:MM'"),
    ],
)
def test_malformed_profile_says_what_is_wrong(
    profile_file: Path, change: str, message: str
) -> None:
    key = change.split(":")[0]
    lines = [ln for ln in profile_file.read_text().splitlines()
             if not ln.startswith(f"{key}:") and not ln.startswith("  ")]
    profile_file.write_text("\n".join(lines + [change]) + "\n")
    with pytest.raises(ProfileError, match=message):
        ClinicProfile.load(profile_file)


def test_an_edit_to_the_profile_is_picked_up(profile_file: Path) -> None:
    assert current_profile(profile_file).phone == "(780) 555-0199"
    text = profile_file.read_text().replace("555-0199", "555-0142")
    profile_file.write_text(text)
    import os
    stat = profile_file.stat()
    os.utime(profile_file, (stat.st_atime, stat.st_mtime + 5))
    assert current_profile(profile_file).phone == "(780) 555-0142"
