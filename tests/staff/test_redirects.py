"""After signing in (`next`) and after a status change (`back`), the console redirects
only to one of its own pages: never to another site, however the address is dressed
up for a browser to read it as one."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from clinic_assistant.clinic.db import booking_requests, engine_for
from tests.staff.conftest import PASSWORD, csrf_token, post_form

OFF_SITE = [
    "//evil.com",
    "/\\evil.com",
    "/\\\\evil.com",
    "\\\\evil.com",
    "/evil.com\\@clinic",  # a backslash anywhere: browsers read it as a slash
    "http://evil.com",
    "https:evil.com",
    "javascript:alert(1)",
    "/\t/evil.com",  # browsers drop tabs and newlines: //evil.com
    "/\n/evil.com",
    "/\r\nSet-Cookie: a=b",
    "/\x00/evil.com",
    "/%5Cevil.com",  # decoded once by a proxy: /\evil.com
    "/%2F%2Fevil.com",
    "/%2f/evil.com",
    "evil.com",
    "",
]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Redirects do not depend on the database: SQLite only, here."""
    return f"sqlite:///{tmp_path / 'clinic.db'}"


ON_SITE = ["/queues?status=done", "/conversations/conv-faq", "/conversations?q=a%2Fb&page=2"]


def sign_in_with(client: Any, target: str) -> Any:
    page = client.get("/login")
    return client.post("/login", data={
        "username": "anna", "password": PASSWORD, "next": target,
        "csrf_token": csrf_token(page.get_data(as_text=True)),
    })


@pytest.mark.parametrize("target", OFF_SITE)
def test_signing_in_never_redirects_off_site(client: Any, target: str) -> None:
    answer = sign_in_with(client, target)
    assert answer.status_code == 302 and answer.headers["Location"] == "/conversations"


@pytest.mark.parametrize("target", ON_SITE)
def test_signing_in_returns_to_the_page_asked_for(client: Any, target: str) -> None:
    answer = sign_in_with(client, target)
    assert answer.status_code == 302 and answer.headers["Location"] == target


def test_the_login_page_does_not_carry_an_off_site_target(client: Any) -> None:
    html = client.get("/login?next=/%5Cevil.com").get_data(as_text=True)
    assert 'name="next" value="/conversations"' in html


def _booking_id(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(conn.execute(sa.select(booking_requests.c.id)).scalar_one())


@pytest.mark.parametrize("target", OFF_SITE)
def test_a_status_change_never_redirects_off_site(signed_in: Any, clinic_db: str, target: str) -> None:
    answer = post_form(signed_in, "/queues", f"/queues/booking/{_booking_id(clinic_db)}/status",
                       {"status": "contacted", "note": "", "back": target})
    assert answer.status_code == 302 and answer.headers["Location"] == "/queues"


def test_a_status_change_returns_to_the_page_it_came_from(signed_in: Any, clinic_db: str) -> None:
    answer = post_form(signed_in, "/queues", f"/queues/booking/{_booking_id(clinic_db)}/status",
                       {"status": "contacted", "note": "", "back": "/queues?status=all"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/queues?status=all"
