"""The console refuses to start with a weak secret: the session key, and the token
that lets it speak for staff to the bot."""
from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Start-up checks do not depend on the database: SQLite only, here."""
    return f"sqlite:///{tmp_path / 'clinic.db'}"


@pytest.mark.parametrize("token", [
    "short",
    "x" * 31,
    "changeme",
    "token",
    "please-change-this-to-a-long-random-string",
    "an-EXAMPLE-staff-api-token-0123456789",
])
def test_a_weak_staff_api_token_is_refused(settings: Any, token: str) -> None:
    from staff.app import create_app

    with pytest.raises(RuntimeError, match="STAFF_API_TOKEN"):
        create_app(replace(settings, staff=replace(settings.staff, api_token=token)))


@pytest.mark.parametrize("token", ["", secrets.token_urlsafe(24)])
def test_a_long_random_or_no_staff_api_token_is_accepted(settings: Any, token: str) -> None:
    from staff.app import create_app

    assert create_app(replace(settings, staff=replace(settings.staff, api_token=token))) is not None
