"""Going live on placeholders: the clinic profile ships with EXAMPLE values (a 555-01xx
phone number, example.com addresses, example hours). A patient must never be given
them as the clinic's, so the production containers refuse to start while any is left
(issue #18); `make run` starts anyway and says so in one line.

    python -m clinic_assistant.clinic.placeholders            lists them (exit 0)
    python -m clinic_assistant.clinic.placeholders --refuse   exits 78 naming them,
                                                              unless CLINIC_DEMO=true

A field is a placeholder when its line in the profile is still marked ``# EXAMPLE``,
or when its value is one: a phone number in the 555-0100–0199 range (reserved for
fiction), an address at example.com/.net/.org or an ``.example`` domain (RFC 2606),
an address with "Example" in it.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import phonenumbers
import yaml

from clinic_assistant.settings import PROJECT_ROOT, Settings

MARK = re.compile(r"#\s*EXAMPLE\b")
KEY = re.compile(r"^([a-z_]+)\s*:")
EXAMPLE_DOMAIN = re.compile(r"[@./]example\.(?:com|net|org)(?![\w-])|\.example(?![\w.-])", re.IGNORECASE)
EX_CONFIG = 78  # sysexits.h: configuration error (the container stays down, with the reason)


def _fictional_phone(value: str) -> bool:
    try:
        number = phonenumbers.parse(value, "CA")
    except phonenumbers.NumberParseException:
        return False
    national = str(number.national_number)
    return len(national) == 10 and national[3:6] == "555" and national[6:8] == "01"


def placeholder_fields(path: Path) -> list[str]:
    """The profile's fields that still hold an example, each with why, in file order."""
    text = path.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for line in text.splitlines():
        key = KEY.match(line)
        if key and MARK.search(line):
            found.setdefault(key.group(1), "marked EXAMPLE")
    raw = yaml.safe_load(text) or {}
    values = {name: str(raw.get(name) or "") for name in ("phone", "email", "address", "booking_link")}
    if _fictional_phone(values["phone"]):
        found.setdefault("phone", "a 555-01xx number, reserved for fiction")
    for name in ("email", "booking_link"):
        if EXAMPLE_DOMAIN.search(values[name]):
            found.setdefault(name, "an example domain")
    if re.search(r"\bexample\b", values["address"], re.IGNORECASE):
        found.setdefault("address", "an example address")
    order = [match.group(1) for match in map(KEY.match, text.splitlines()) if match]
    return [f"{name} ({found[name]})" for name in
            sorted(found, key=lambda name: order.index(name) if name in order else len(order))]


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refuse", action="store_true",
                        help="exit 78 while placeholders are left (unless CLINIC_DEMO=true)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    left = placeholder_fields(settings.clinic.profile)
    if not left:
        print(f"clinic profile {settings.clinic.profile.name}: real details, no EXAMPLE value left")
        return 0
    names = ", ".join(left)
    if args.refuse and not settings.clinic.demo:
        print(f"refusing to start: the clinic profile ({_shown(settings.clinic.profile)}) still holds EXAMPLE "
              f"values: {names}. Patients would be given them as the clinic's. Replace them (and "
              "the EXAMPLE marks), or set CLINIC_DEMO=true to run a demo on them.", file=sys.stderr)
        return EX_CONFIG
    print(f"Demo clinic details: {', '.join(name.split(' ')[0] for name in left)} in {_shown(settings.clinic.profile)} "
          "are EXAMPLE values; replace them before going live.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
