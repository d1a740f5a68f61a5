"""Shared fixtures: saved tracker states, the built clinic spaCy pipeline, the profile."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Callable

import pytest

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
FIXTURES = TESTS / "fixtures"

# Conversation ids are keyed with this secret (clinic_assistant/clinic/identity.py); `make`
# exports this machine's, a bare `pytest` run gets one for the run (servers the
# tests start inherit it).
os.environ.setdefault("CONVERSATION_ID_SECRET", secrets.token_urlsafe(48))
# the bot's staff channel (replies, hand-back, forget) in the servers the tests start
os.environ.setdefault("STAFF_API_TOKEN", secrets.token_urlsafe(48))
# actions run in this process read the clinic's details from the database
# (clinic_assistant/clinic/details.py): a database of this run, never make run's var/
if "DATABASE_URL" not in os.environ:
    import tempfile

    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='clinic-tests-')}/tests.db"


@pytest.fixture
def saved_tracker() -> Callable[[str], Any]:
    """Loads a saved tracker state (tests/fixtures/trackers/NAME.json) as an SDK Tracker."""
    from rasa_sdk import Tracker

    def load(name: str) -> Any:
        state = json.loads((FIXTURES / "trackers" / f"{name}.json").read_text())
        return Tracker.from_dict(state)

    return load


@pytest.fixture(scope="session")
def clinic_nlp() -> Any:
    """The clinic spaCy pipeline exactly as Rasa loads it (built by `make`)."""
    import spacy

    from clinic_assistant.nlp.build import source_hash

    path = PROJECT / "build" / "clinic_spacy"
    nlp = spacy.load(path)
    assert nlp.meta.get("source_hash") == source_hash(), (
        "build/clinic_spacy is older than clinic_assistant/nlp/: run `make spacy`"
    )
    return nlp


@pytest.fixture
def profile_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clinic profile with distinctive values, selected through CLINIC_PROFILE."""
    path = tmp_path / "profile.yml"
    path.write_text(
        "name: Test Physio\ncity: Grande Prairie\nprovince: Alberta\n"
        "phone: '(780) 555-0199'\nemail: desk@test.example\n"
        "address: 1 Test Road\nbooking_link: https://test.example/book\n"
        "timezone: America/Edmonton\n"
        "hours:\n  monday: '09:00-17:00'\n  tuesday: '09:00-17:00'\n  saturday: '10:00-14:30'\n"
    )
    monkeypatch.setenv("CLINIC_PROFILE", str(path))
    return path


def smtp_env(port: int) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_TLS": "none",
            "CLINIC_NOTIFY_EMAIL": "desk@clinic.test", "NOTIFY_RETRY_SECONDS": "0.2,0.2"}


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory, smtp_server: Any) -> Any:
    """The real Rasa server and action server, on free loopback ports, for the session;
    staff email goes to the test SMTP server."""
    from tests.harness.servers import running_bot

    port, _ = smtp_server
    with running_bot(tmp_path_factory.mktemp("bot") / "tracker.db", **smtp_env(port)) as running:
        yield running


@pytest.fixture(scope="session")
def expected_text() -> Callable[[str], str]:
    """A response's text as a patient sees it: from the domain, with the clinic's facts."""
    from rasa.shared.core.domain import Domain

    from clinic_assistant.clinic.profile import ClinicProfile

    domain = Domain.load(str(PROJECT / "domain"))
    slots = ClinicProfile.load(PROJECT / "clinic" / "profile.yml").as_slots()

    from clinic_assistant.rasa.nlg import tidy

    def render(response: str) -> str:
        return tidy(str(domain.responses[response][0]["text"]).format(**slots))

    return render


@pytest.fixture(scope="session")
def nlu_agent() -> Any:
    """The trained model, loaded in this process, for parsing messages."""
    from rasa.core.agent import Agent

    return Agent.load(str(PROJECT / "models" / "clinic.tar.gz"))


@pytest.fixture(scope="session")
def red_flag_suite() -> dict[str, Any]:
    import yaml

    return yaml.safe_load((TESTS / "safety" / "red_flags.yml").read_text())


class Inbox:
    """What a real local SMTP server (aiosmtpd) received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def wait_for(self, count: int, seconds: float = 10.0) -> list[Any]:
        import time

        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture(scope="session")
def smtp_server() -> Any:
    """A real SMTP server on loopback; yields (port, inbox)."""
    from aiosmtpd.controller import Controller

    from tests.harness.servers import free_port

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    """A throwaway PostgreSQL server on loopback for the session (its admin URL)."""
    from tests.harness.postgres import running_postgres, server_binaries

    if server_binaries() is None:
        pytest.skip("PostgreSQL is not installed here; `make test` installs it with "
                    "apt-get where it can (scripts/ensure-postgres)")
    with running_postgres("clinic_admin") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, and a new database on the PostgreSQL
    server, so that each database test runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'clinic.db'}"
    import uuid

    import sqlalchemy as sa

    admin = request.getfixturevalue("postgres_server")
    name = f"test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{admin.rsplit('/', 1)[0]}/{name}"
