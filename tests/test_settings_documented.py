"""Every environment variable the project reads is declared once, with its default
(clinic_assistant/settings.py VARIABLES), and documented in .env.example and in the
README's table; nothing is documented that is not read (issue #17)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from clinic_assistant.settings import VARIABLES, markdown_table, setting

PROJECT = Path(__file__).resolve().parent.parent
CODE = ("clinic_assistant", "actions", "staff", "security")
READ = re.compile(r"""(?:setting|_number|environ\.get|env\.get|getenv|environ\[)\(?\s*["']([A-Z][A-Z0-9_]{2,})["']""")
SUBSTITUTED = re.compile(r"\$\{?([A-Z][A-Z0-9_]{2,})")
NOT_SETTINGS = {"VENV", "HS256"}  # the Procfile's venv path (set by the Makefile); a JWT algorithm name
READ_BY_RASA = {"TICKET_LOCK_LIFETIME"}  # rasa.core.lock_store reads it itself


def read_in_code() -> set[str]:
    names = set()
    for folder in CODE:
        for path in (PROJECT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            names |= set(READ.findall(text))
            names |= set(re.findall(r'SECRET_VARIABLE = "([A-Z_]+)"', text))
            names |= set(re.findall(r'required = \(([^)]*)\)', text) and
                         re.findall(r'"([A-Z][A-Z0-9_]+)"', " ".join(re.findall(r'required = \(([^)]*)\)', text))))
    for name in ("endpoints.yml", "credentials.yml", "Procfile", "deploy/docker-compose.yml"):
        names |= set(SUBSTITUTED.findall((PROJECT / name).read_text(encoding="utf-8")))
    return (names | READ_BY_RASA) - NOT_SETTINGS


def declared() -> set[str]:
    return {v.name for v in VARIABLES}


def test_every_variable_read_is_declared_once() -> None:
    assert len(VARIABLES) == len(declared())
    assert read_in_code() - declared() == set(), "read but not declared in settings.VARIABLES"


def test_every_declared_variable_is_read() -> None:
    assert declared() - read_in_code() == set(), "declared but never read"


def test_env_example_lists_exactly_the_declared_variables() -> None:
    text = (PROJECT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]{2,})=", text, flags=re.MULTILINE))
    assert listed == declared()


def test_the_readme_table_is_the_declared_one() -> None:
    assert markdown_table() in (PROJECT / "README.md").read_text(encoding="utf-8"), (
        "README's settings table differs: paste `python -m clinic_assistant.settings`")


def test_an_unknown_variable_is_refused_and_blank_means_default() -> None:
    with pytest.raises(KeyError):
        setting("NO_SUCH_SETTING")
    assert setting("LOCK_STORE_URL", {"LOCK_STORE_URL": "  "}) == "memory://"
    assert setting("LOCK_STORE_URL", {"LOCK_STORE_URL": "redis://r:6379/1"}) == "redis://r:6379/1"


def test_the_pipeline_reads_as_much_as_the_limit_says() -> None:
    import yaml

    from clinic_assistant import limits

    config = yaml.safe_load((PROJECT / "config.yml").read_text(encoding="utf-8"))
    guard = next(c for c in config["pipeline"] if c["name"].endswith("PatientTextGuard"))
    assert guard["max_characters"] == limits.MAX_READ_MESSAGE
    assert limits.MAX_READ_MESSAGE < limits.MAX_CHANNEL_MESSAGE  # "shorten it" before "refused"
