"""The production containers refuse to start on the profile's EXAMPLE values, naming
them, unless CLINIC_DEMO is set; `make run` starts and says so in one line (issue #18)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness.servers import PROJECT

SHIPPED = (PROJECT / "clinic" / "profile.yml").read_text(encoding="utf-8")
REAL = """name: GP Pain & Physiotherapy
city: Grande Prairie
province: Alberta
phone: "(780) 532-4411"
email: "frontdesk@gppainphysio.ca"
address: "10702 100 Street, Grande Prairie, AB"
booking_link: "https://gppainphysio.janeapp.com"
timezone: America/Edmonton
hours:
  monday: "08:00-18:00"
"""


def check(tmp_path: Path, profile: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "profile.yml"
    path.write_text(profile, encoding="utf-8")
    environ = {**os.environ, "PYTHONPATH": str(PROJECT), "CLINIC_PROFILE": str(path), "CLINIC_DEMO": "", **env}
    return subprocess.run([sys.executable, "-m", "clinic_assistant.clinic.placeholders", *args],
                          capture_output=True, text=True, env=environ, cwd=PROJECT, timeout=60)


def test_the_shipped_examples_stop_a_container_naming_each(tmp_path: Path) -> None:
    done = check(tmp_path, SHIPPED, "--refuse")
    assert done.returncode == 78
    for name in ("phone", "email", "address", "booking_link", "hours"):
        assert name in done.stderr
    assert "CLINIC_DEMO=true" in done.stderr


def test_the_demo_flag_starts_on_them_and_make_run_says_so_in_one_line(tmp_path: Path) -> None:
    demo = check(tmp_path, SHIPPED, "--refuse", CLINIC_DEMO="true")
    assert demo.returncode == 0
    plain = check(tmp_path, SHIPPED)  # as `make run` calls it
    assert plain.returncode == 0
    assert len(plain.stdout.strip().splitlines()) == 1 and "EXAMPLE" in plain.stdout


def test_real_details_start(tmp_path: Path) -> None:
    done = check(tmp_path, REAL, "--refuse")
    assert done.returncode == 0, done.stderr
    assert "no EXAMPLE value left" in done.stdout


def test_a_placeholder_value_is_caught_even_when_its_mark_was_deleted(tmp_path: Path) -> None:
    unmarked = REAL.replace("(780) 532-4411", "780-555-0142").replace("gppainphysio.ca", "example.com")
    done = check(tmp_path, unmarked, "--refuse")
    assert done.returncode == 78
    assert "phone (a 555-01xx number" in done.stderr and "email (an example domain)" in done.stderr
    assert "booking_link" not in done.stderr
