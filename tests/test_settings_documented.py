"""Every environment variable the project reads is declared once, with its default
(clinic_assistant/settings.py VARIABLES), and documented in .env.example and in the
README's table; nothing is documented that is not read (issue #17)."""
from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from clinic_assistant.settings import GROUPS, VARIABLES, Settings, SettingsError, markdown_table

PROJECT = Path(__file__).resolve().parent.parent
CODE = ("clinic_assistant", "actions", "staff", "security", "widget/serve.py")
READ = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']([A-Z][A-Z0-9_]{2,})["']""")
SUBSTITUTED = re.compile(r"\$\{?([A-Z][A-Z0-9_]{2,})")
SUBSTITUTING = ("endpoints.yml", "credentials.yml", "Procfile", "deploy/docker-compose.yml")
NOT_SETTINGS = {"VENV", "HS256"}  # the Procfile's venv path (set by the Makefile); a JWT algorithm name
READ_BY_RASA = {"TICKET_LOCK_LIFETIME"}  # rasa.core.lock_store reads it itself


def python_files() -> list[Path]:
    found: list[Path] = []
    for name in CODE:
        path = PROJECT / name
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [path for path in found if path != PROJECT / "clinic_assistant" / "settings.py"]


def substituted() -> set[str]:
    names: set[str] = set()
    for name in SUBSTITUTING:
        names |= set(SUBSTITUTED.findall((PROJECT / name).read_text(encoding="utf-8")))
    return names - NOT_SETTINGS


def declared() -> set[str]:
    return {v.name for v in VARIABLES}


def test_only_the_settings_object_reads_a_variable_by_name() -> None:
    reads = {f"{path.relative_to(PROJECT)}: {name}" for path in python_files()
             for name in READ.findall(path.read_text(encoding="utf-8"))}
    assert reads == set(), "read the value from Settings.from_env() instead"


def test_every_variable_is_declared_once_and_used() -> None:
    assert len(VARIABLES) == len(declared())
    assert substituted() - declared() == set(), "substituted in a file but not declared"
    code = "\n".join(path.read_text(encoding="utf-8") for path in python_files())
    unused = set()
    for group_name, group in GROUPS.items():
        for item in fields(group):
            name = item.metadata["variable"].name
            used = (re.search(rf"\b{group_name}\.{item.name}\b", code) or name in substituted()
                    or name in READ_BY_RASA)
            if not used:
                unused.add(name)
    assert unused == set(), "declared but never read"


def test_env_example_lists_exactly_the_declared_variables() -> None:
    text = (PROJECT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]{2,})=", text, flags=re.MULTILINE))
    assert listed == declared()


def test_the_readme_table_is_the_declared_one() -> None:
    assert markdown_table() in (PROJECT / "README.md").read_text(encoding="utf-8"), (
        "README's settings table differs: paste `python -m clinic_assistant.settings`")


def test_values_are_typed_blank_means_default_and_a_bad_value_is_named() -> None:
    defaults = Settings.from_env({})
    assert defaults.redis.lock_store_url == "memory://"
    assert Settings.from_env({"LOCK_STORE_URL": "  "}).redis.lock_store_url == "memory://"
    assert Settings.from_env({"LOCK_STORE_URL": "redis://r:6379/1"}).redis.lock_store_url == "redis://r:6379/1"
    assert (defaults.servers.rasa_port, defaults.smtp.port, defaults.staff.cookie_secure) == ("5005", None, False)
    # Kubernetes' service links (a Service named "staff"): not a reason to stop
    assert Settings.from_env({"STAFF_PORT": "tcp://10.0.0.11:8081"}).servers.staff_port == "tcp://10.0.0.11:8081"
    read = Settings.from_env({"WIDGET_ORIGINS": "https://a.ca, https://b.ca", "STAFF_COOKIE_SECURE": "true",
                              "NOTIFY_RETRY_SECONDS": "1,2", "CLINIC_PROFILE": "clinic/profile.yml"})
    assert read.widget.origins == ("https://a.ca", "https://b.ca")
    assert read.staff.cookie_secure is True and read.smtp.retry_seconds == (1.0, 2.0)
    assert read.clinic.profile == PROJECT / "clinic" / "profile.yml"
    assert defaults.database.url.startswith("sqlite:///") and defaults.database.url.endswith("var/tracker.db")
    with pytest.raises(SettingsError, match="STAFF_SESSION_HOURS='x'.*SMTP_PORT='five'"):
        Settings.from_env({"SMTP_PORT": "five", "STAFF_SESSION_HOURS": "x"})
    with pytest.raises(KeyError):
        Settings.is_set("NO_SUCH_SETTING")


def test_the_pipeline_reads_as_much_as_the_limit_says() -> None:
    import yaml

    from clinic_assistant import limits

    config = yaml.safe_load((PROJECT / "config.yml").read_text(encoding="utf-8"))
    guard = next(c for c in config["pipeline"] if c["name"].endswith("PatientTextGuard"))
    assert guard["max_characters"] == limits.MAX_READ_MESSAGE
    assert limits.MAX_READ_MESSAGE < limits.MAX_CHANNEL_MESSAGE  # "shorten it" before "refused"
