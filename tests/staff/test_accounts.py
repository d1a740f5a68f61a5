"""Staff accounts: failed sign-ins counted without losing any, one message for a wrong
password and a locked account, and the account commands recorded in the audit log."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from clinic_assistant.clinic.db import engine_for, staff_users
from staff import accounts
from tests.staff.conftest import PASSWORD, login
from tests.staff.test_console import audit, run_command


def alert(answer: Any) -> str:
    match = re.search(r'role="alert">([^<]*)<', answer.get_data(as_text=True))
    assert match, "no error message on the page"
    return match.group(1)


def test_wrong_passwords_tried_at_once_all_count(clinic_db: str) -> None:
    """argon2 takes tens of milliseconds: counting by read-then-write loses the tries
    that overlap, and an attacker with many connections is never locked out."""
    engine = engine_for(clinic_db)
    tries = accounts.MAX_FAILED_LOGINS
    start = threading.Barrier(tries)

    def wrong_password(_: int) -> accounts.LoginResult:
        start.wait()
        return accounts.authenticate(engine, "anna", "wrong password!")

    with ThreadPoolExecutor(tries) as pool:
        results = list(pool.map(wrong_password, range(tries)))
    assert all(result.member is None for result in results)
    with engine.connect() as conn:
        locked_until = conn.execute(
            sa.select(staff_users.c.locked_until).where(staff_users.c.username == "anna")).scalar_one()
    assert locked_until is not None
    assert accounts.authenticate(engine, "anna", PASSWORD).member is None  # locked


def test_one_try_short_of_the_limit_does_not_lock(clinic_db: str) -> None:
    engine = engine_for(clinic_db)
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        accounts.authenticate(engine, "anna", "wrong password!")
    assert accounts.authenticate(engine, "anna", PASSWORD).member is not None


def test_a_locked_account_gets_the_same_answer_as_a_wrong_password(client: Any) -> None:
    wrong = login(client, password="wrong password!")
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        login(client, password="wrong password!")
    locked = login(client)  # the right password, but the account is locked now
    unknown = login(client, username="nobody", password="wrong password!")
    assert wrong.status_code == locked.status_code == unknown.status_code == 401
    assert alert(wrong) == alert(locked) == alert(unknown)
    # one message that still helps a member of staff who mistyped
    assert alert(wrong).startswith("Wrong username or password.")
    assert f"{accounts.MAX_FAILED_LOGINS} " in alert(wrong) and "15 minutes" in alert(wrong)


# --- account commands ------------------------------------------------------------
def test_account_commands_are_recorded_with_the_target_account(clinic_db: str) -> None:
    made = run_command(clinic_db, "create-user", "bea", "--role", "front_desk", "--password-stdin",
                       stdin="a long enough pass\n")
    assert made.returncode == 0, made.stderr
    changed = run_command(clinic_db, "set-password", "bea", "--password-stdin", stdin="another long pass\n")
    assert changed.returncode == 0, changed.stderr
    moved = run_command(clinic_db, "set-role", "bea", "clinician")
    assert moved.returncode == 0, moved.stderr
    for action, detail in (("create_user", "bea (front_desk)"), ("set_password", "bea"),
                           ("set_role", "bea -> clinician")):
        rows = audit(clinic_db, action)
        assert [(row["username"], row["detail"]) for row in rows] == [("command line", detail)]


def test_deactivating_an_account_ends_its_sessions_and_is_recorded(signed_in: Any, clinic_db: str) -> None:
    assert signed_in.get("/conversations").status_code == 200
    done = run_command(clinic_db, "deactivate-user", "Anna")
    assert done.returncode == 0, done.stderr
    assert "anna" in done.stdout
    answer = signed_in.get("/conversations")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert accounts.authenticate(engine_for(clinic_db), "anna", PASSWORD).member is None
    rows = audit(clinic_db, "deactivate_user")
    assert [(row["username"], row["detail"]) for row in rows] == [("command line", "anna")]

    unknown = run_command(clinic_db, "deactivate-user", "nobody")
    assert unknown.returncode != 0 and "no account 'nobody'" in unknown.stderr
    assert len(audit(clinic_db, "deactivate_user")) == 1
