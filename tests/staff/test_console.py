"""The staff console in-process, on SQLite and PostgreSQL (see conftest)."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from clinic_assistant.clinic.db import audit_log, booking_requests, engine_for, handoff_tickets, queue_updates
from tests.harness.servers import base_env, free_port
from clinic_assistant.settings import PROJECT_ROOT
from staff import accounts
from staff.conversations import events
from tests.staff.conftest import PASSWORD, login, post_form


def listed(client: Any, query: str = "") -> list[str]:
    html = client.get("/conversations" + query).get_data(as_text=True)
    return [line.split('"')[1] for line in html.split("data-conversation=")[1:]]


def audit(url: str, action: str) -> list[dict[str, Any]]:
    with engine_for(url).connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(audit_log).where(audit_log.c.action == action)).mappings()]


# --- signing in ---------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/conversations", "/conversations/conv-faq", "/queues", "/improve"])
def test_pages_send_strangers_to_the_login_page(client: Any, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/exports/nlu.yml"), ("GET", "/exports/conversations.csv"),
    ("POST", "/queues/booking/1/status"), ("POST", "/conversations/conv-faq/forget"),
    ("POST", "/conversations/conv-faq/reply"), ("POST", "/logout"),
])
def test_data_and_actions_answer_401_without_a_session(client: Any, method: str, path: str) -> None:
    assert client.open(path, method=method).status_code == 401


def test_no_account_exists_until_one_is_made(client: Any) -> None:
    for username, password in [("admin", "admin"), ("admin", "password"), ("staff", "staff")]:
        assert login(client, username, password).status_code == 401


def test_signing_in_sets_a_safe_cookie_and_signing_out_ends_the_session(client: Any) -> None:
    answer = login(client)
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    page = client.get("/conversations")
    assert page.status_code == 200
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self' only
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    stolen = client.get_cookie("clinic_staff").value
    post_form(client, "/conversations", "/logout", {})
    assert client.get("/conversations").status_code == 302
    client.set_cookie("clinic_staff", stolen)  # the old cookie no longer works
    assert client.get("/conversations").status_code == 302


def test_wrong_passwords_lock_the_account(client: Any, clinic_db: str) -> None:
    answer = login(client, password="wrong password!")
    assert answer.status_code == 401 and "Wrong username or password" in answer.get_data(as_text=True)
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        login(client, password="wrong password!")
    answer = login(client)  # the right password, but locked now: the same answer
    assert answer.status_code == 401 and accounts.SIGN_IN_FAILED in answer.get_data(as_text=True)
    later = accounts.now_utc() + accounts.LOCKOUT + timedelta(seconds=1)
    assert accounts.authenticate(engine_for(clinic_db), "anna", PASSWORD, at=later).member is not None
    failed = audit(clinic_db, "login_failed")
    assert len(failed) == accounts.MAX_FAILED_LOGINS + 1
    # the log tells the administrator what the page does not
    assert [row["detail"] for row in failed][-2:] == ["account locked", "account locked"]


def test_forms_without_the_csrf_token_are_refused(signed_in: Any, client: Any) -> None:
    answer = signed_in.post("/queues/booking/1/status", data={"status": "contacted", "note": ""})
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": "forged"})
    assert signed_in.get("/conversations").status_code == 200  # still signed in


def test_passwords_are_stored_as_argon2_hashes(clinic_db: str) -> None:
    with engine_for(clinic_db).connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM staff_users")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# --- conversations ------------------------------------------------------------------
def test_the_list_is_newest_first_and_shows_only_conversations_with_a_patient_message(signed_in: Any) -> None:
    ids = listed(signed_in)
    assert set(ids) == {"conv-faq", "conv-handoff", "conv-urgent", "conv-fallback", "conv-booking", "conv-old"}
    assert ids[-1] == "conv-old" and ids[-2] == "conv-booking"
    assert set(ids[:2]) == {"conv-urgent", "conv-fallback"}


@pytest.mark.parametrize("query, expected", [
    ("?handed_off=yes", {"conv-handoff"}),
    ("?urgent=yes", {"conv-urgent"}),
    ("?fallback=yes", {"conv-fallback"}),
    ("?booking=yes", {"conv-booking"}),
    ("?channel=rest", {"conv-urgent", "conv-fallback", "conv-old"}),
    ("?q=DRY+needling", {"conv-faq", "conv-booking"}),  # patient's or bot's words
    ("?q=chest+pain&urgent=yes", {"conv-urgent"}),
    ("?q=100%25", set()),  # LIKE wildcards are searched for as text
    ("?handed_off=no&urgent=no&fallback=no&booking=no", {"conv-faq", "conv-old"}),
])
def test_filters(signed_in: Any, query: str, expected: set[str]) -> None:
    assert set(listed(signed_in, query)) == expected


def test_date_range_uses_the_clinics_days(signed_in: Any) -> None:
    from zoneinfo import ZoneInfo

    yesterday = (datetime.now(ZoneInfo("America/Edmonton")) - timedelta(days=1)).date().isoformat()
    assert set(listed(signed_in, f"?from={yesterday}&to={yesterday}")) == {"conv-faq", "conv-handoff"}


def test_reviewed_filter_follows_the_review_button(signed_in: Any) -> None:
    post_form(signed_in, "/conversations/conv-faq", "/conversations/conv-faq/review", {"reviewed": "yes"})
    assert listed(signed_in, "?reviewed=yes") == ["conv-faq"]
    assert "conv-faq" not in listed(signed_in, "?reviewed=no")


def test_counts_for_today(signed_in: Any) -> None:
    html = signed_in.get("/conversations").get_data(as_text=True)

    def stat(name: str) -> str:
        return html.split(f'data-stat="{name}">')[1].split("<")[0]

    assert stat("today-conversations") == "2"
    assert stat("today-urgent") == "1"
    assert stat("today-fallback") == "50%"  # one of the two patient messages today
    assert "<svg" in html and "Conversations per day" in html


def test_the_transcript_shows_intents_confidence_and_hides_contacts(signed_in: Any, clinic_db: str) -> None:
    html = signed_in.get("/conversations/conv-handoff").get_data(as_text=True)
    assert "request_human · 0.90" in html
    assert "turn user low" in html  # 0.41 is highlighted
    assert "780-555-0123" not in html and "+17805550123" not in html and "[phone hidden]" in html
    assert "Channel: <strong data-channel>socketio</strong>" in html
    assert [row["conversation_id"] for row in audit(clinic_db, "view_transcript")] == ["conv-handoff"]

    revealed = post_form(signed_in, "/conversations/conv-handoff", "/conversations/conv-handoff/reveal", {})
    assert "780-555-0123" in revealed.get_data(as_text=True)
    assert audit(clinic_db, "reveal_contacts")[0]["username"] == "anna"


def test_entities_are_shown_and_form_answers_are_not_flagged(signed_in: Any) -> None:
    html = signed_in.get("/conversations/conv-booking").get_data(as_text=True)
    assert "condition: TMJ dysfunction" in html
    assert "Tuesday afternoon" in html and " low" not in html  # the form took it
    fallback = signed_in.get("/conversations/conv-fallback").get_data(as_text=True)
    assert "turn user low" in fallback


# --- queues -------------------------------------------------------------------------
def test_a_booking_request_moves_through_its_statuses_with_who_when_and_a_note(
    signed_in: Any, clinic_db: str
) -> None:
    page = signed_in.get("/queues").get_data(as_text=True)
    assert "[name hidden]" in page and "Bo Lee" not in page and "+17805550199" not in page
    with engine_for(clinic_db).connect() as conn:
        booking_id = conn.execute(sa.select(booking_requests.c.id)).scalar_one()
    answer = post_form(signed_in, "/queues", f"/queues/booking/{booking_id}/status",
                       {"status": "contacted", "note": "left a voicemail"})
    assert answer.status_code == 302
    page = signed_in.get("/queues").get_data(as_text=True)
    assert "anna → <strong>contacted</strong>: left a voicemail" in page
    with engine_for(clinic_db).connect() as conn:
        assert conn.execute(sa.select(booking_requests.c.status)).scalar_one() == "contacted"
        update = conn.execute(sa.select(queue_updates)).mappings().one()
    assert update["username"] == "anna" and update["at"] is not None

    bad = post_form(signed_in, "/queues", f"/queues/booking/{booking_id}/status", {"status": "confirmed!"})
    assert bad.status_code == 400 and "status must be one of" in bad.get_data(as_text=True)
    missing = post_form(signed_in, "/queues", "/queues/booking/999/status", {"status": "contacted"})
    assert missing.status_code == 400


def test_done_items_leave_the_open_queue(signed_in: Any, clinic_db: str) -> None:
    with engine_for(clinic_db).connect() as conn:
        ticket_id = conn.execute(sa.select(handoff_tickets.c.id)).scalar_one()
    assert f'data-ticket="{ticket_id}"' in signed_in.get("/queues").get_data(as_text=True)
    post_form(signed_in, "/queues", f"/queues/handoff/{ticket_id}/status", {"status": "done", "note": ""})
    assert f'data-ticket="{ticket_id}"' not in signed_in.get("/queues").get_data(as_text=True)
    assert f'data-ticket="{ticket_id}"' in signed_in.get("/queues?status=done").get_data(as_text=True)


# --- improving the bot, exports -----------------------------------------------------
def _event_id(url: str, conversation_id: str, text: str) -> int:
    with engine_for(url).connect() as conn:
        for event_id, data in conn.execute(sa.select(events.c.id, events.c.data).where(
                events.c.sender_id == conversation_id, events.c.type_name == "user")):
            if json.loads(data)["text"] == text:
                return int(event_id)
    raise AssertionError(text)


def test_marking_and_exporting_nlu_yaml(signed_in: Any, clinic_db: str, tmp_path: Any) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    fallback = _event_id(clinic_db, "conv-fallback", "how much does a session cost blorp")
    handoff = _event_id(clinic_db, "conv-handoff", "Ann, call me at 780-555-0123")
    post_form(signed_in, "/conversations/conv-fallback", "/conversations/conv-fallback/mark",
              {"event_id": str(fallback), "intent": "faq_price"})
    post_form(signed_in, "/conversations/conv-handoff", "/conversations/conv-handoff/mark",
              {"event_id": str(handoff), "intent": "new"})
    refused = post_form(signed_in, "/conversations/conv-faq", "/conversations/conv-faq/mark",
                        {"event_id": str(fallback), "intent": "not_an_intent"})
    assert refused.status_code == 302

    assert "how much does a session cost blorp" in signed_in.get("/improve").get_data(as_text=True)
    exported = signed_in.get("/exports/nlu.yml")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    text = exported.get_data(as_text=True)
    data = RasaYAMLReader().reads(text)
    assert [(m.get("intent"), m.get("text")) for m in data.intent_examples] == [
        ("faq_price", "how much does a session cost blorp")
    ]
    assert "#   - Ann, call me at [phone hidden]" in text  # a new question, contact hidden


def test_conversation_exports_follow_the_filters(signed_in: Any) -> None:
    rows = list(csv.DictReader(io.StringIO(
        signed_in.get("/exports/conversations.csv?handed_off=yes").get_data(as_text=True))))
    assert {row["conversation_id"] for row in rows} == {"conv-handoff"}
    assert rows[0]["sender"] == "user" and rows[0]["intent"] == "request_human"
    assert all("780-555-0123" not in row["text"] for row in rows)
    records = json.loads(signed_in.get("/exports/conversations.json?urgent=yes").get_data(as_text=True))
    assert [(r["conversation_id"], r["sender"]) for r in records] == [("conv-urgent", "user"), ("conv-urgent", "bot")]
    assert signed_in.get("/exports/conversations.xml").status_code == 404


# --- privacy ------------------------------------------------------------------------
def _rows(url: str, table: Any, conversation_id: str) -> int:
    column = table.c.sender_id if table is events else table.c.conversation_id
    with engine_for(url).connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(
            column == conversation_id)).scalar_one())


def test_forgetting_a_conversation_deletes_it_everywhere(signed_in: Any, clinic_db: str) -> None:
    not_confirmed = post_form(signed_in, "/conversations/conv-handoff", "/conversations/conv-handoff/forget",
                              {"confirm": "yes"})
    assert not_confirmed.status_code == 302 and _rows(clinic_db, events, "conv-handoff") > 0
    post_form(signed_in, "/conversations/conv-handoff", "/conversations/conv-handoff/forget",
              {"confirm": "conv-handoff"})
    for table in (events, handoff_tickets):
        assert _rows(clinic_db, table, "conv-handoff") == 0
    assert signed_in.get("/conversations/conv-handoff").status_code == 404
    assert "conv-handoff" not in listed(signed_in)
    # recorded, under a random id (the conversation's own id may stand for a number)
    [forgot] = audit(clinic_db, "forget")
    assert forgot["username"] == "anna" and forgot["conversation_id"].startswith("forgotten:")


def run_command(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "staff", *args], input=stdin, capture_output=True, text=True,
        # a bot server address where none listens: never this machine's `make run`
        cwd=PROJECT_ROOT, env=base_env(DATABASE_URL=url, RASA_URL=f"http://127.0.0.1:{free_port()}"),
        timeout=120,
    )


def test_the_retention_command_deletes_old_conversations(clinic_db: str) -> None:
    dry = run_command(clinic_db, "retention", "--days", "365", "--dry-run")
    assert dry.returncode == 0 and "1 conversations" in dry.stdout
    assert _rows(clinic_db, events, "conv-old") > 0
    done = run_command(clinic_db, "retention", "--days", "365")
    assert done.returncode == 0 and "Deleted 1 " in done.stdout
    assert _rows(clinic_db, events, "conv-old") == 0
    assert _rows(clinic_db, events, "conv-booking") > 0
    assert _rows(clinic_db, booking_requests, "conv-booking") == 1


def test_the_create_user_command(clinic_db: str) -> None:
    made = run_command(clinic_db, "create-user", "Bea", "--role", "clinician", "--name", "Bea M.",
                       "--password-stdin", stdin="a long enough pass\n")
    assert made.returncode == 0, made.stderr
    member = accounts.authenticate(engine_for(clinic_db), "bea", "a long enough pass").member
    assert member is not None and member.display_name == "Bea M." and member.role == "clinician"
    short = run_command(clinic_db, "create-user", "cy", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    taken = run_command(clinic_db, "create-user", "anna", "--role", "admin", "--password-stdin",
                        stdin="another long pass\n")
    assert taken.returncode != 0 and "taken" in taken.stderr
    # a role is not optional, and a wrong one says which there are; nothing is made
    for role_args in ([], ["--role", "boss"]):
        refused = run_command(clinic_db, "create-user", "dee", *role_args, "--password-stdin",
                              stdin="a long enough pass\n")
        assert refused.returncode == 2 and "--role" in refused.stderr, refused.stderr
    assert "front_desk, clinician, admin" in refused.stderr
    assert accounts.authenticate(engine_for(clinic_db), "dee", "a long enough pass").member is None
    moved = run_command(clinic_db, "set-role", "bea", "front-desk")
    assert moved.returncode == 0 and "Front desk" in moved.stdout, moved.stderr
    assert accounts.authenticate(engine_for(clinic_db), "bea", "a long enough pass").member.role == "front_desk"


def test_the_console_refuses_to_start_without_a_real_secret_key(settings: Any) -> None:
    from dataclasses import replace

    from staff.app import create_app

    for key in ("", "change-me", "short"):
        with pytest.raises(RuntimeError, match="STAFF_SECRET_KEY"):
            create_app(replace(settings, staff=replace(settings.staff, secret_key=key)))
