"""Staff accounts and sign-in sessions.

Passwords are hashed with argon2id (argon2-cffi). Five wrong passwords in a row lock
an account for 15 minutes (counted atomically, so tries made at the same time all
count); a deactivated account cannot sign in. A session is a random token in the
(signed, HttpOnly) cookie; the database keeps only its SHA-256 and its expiry, so
signing out or expiring ends it on the server too.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from clinic_assistant.clinic.db import staff_sessions, staff_users
from staff import roles

MIN_PASSWORD_LENGTH = 12
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")

# the one answer to a failed sign-in, whether the password was wrong, the account is
# locked or there is no such account: it must not tell which
SIGN_IN_FAILED = (
    f"Wrong username or password. After {MAX_FAILED_LOGINS} wrong tries in a row an account "
    f"waits {int(LOCKOUT.total_seconds() // 60)} minutes before it can sign in again, or until "
    "an administrator sets a new password."
)

hasher = PasswordHasher()
# verified against when the username is unknown, so both cases take the same time
_UNKNOWN_USER_HASH = hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A request about an account that cannot be done, with the reason."""


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    display_name: str
    role: str = roles.FRONT_DESK

    def may(self, action: str) -> bool:
        return roles.allows(self.role, action)


@dataclass(frozen=True)
class LoginResult:
    member: Optional[StaffMember]
    locked_until: Optional[datetime] = None


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: Optional[datetime]) -> Optional[datetime]:
    """SQLite gives naive datetimes back; every time here is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def check_new_account(username: str, password: str) -> str:
    name = username.strip().lower()
    if not name or len(name) > 64 or not set(name) <= USERNAME_CHARS:
        raise AccountError("a username is 1-64 characters: letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return name


def create_user(engine: sa.engine.Engine, username: str, password: str,
                display_name: str = "", role: str = roles.FRONT_DESK) -> StaffMember:
    name = check_new_account(username, password)
    try:
        role = roles.check_role(role)
    except ValueError as error:
        raise AccountError(str(error)) from None
    with engine.begin() as conn:
        if conn.execute(sa.select(staff_users.c.id).where(staff_users.c.username == name)).first():
            raise AccountError(f"the username '{name}' is taken")
        result = conn.execute(staff_users.insert().values(
            username=name, display_name=(display_name.strip() or name)[:80],
            password_hash=hasher.hash(password), created_at=now_utc(),
            failed_logins=0, active=True, role=role,
        ))
        return StaffMember(int(result.inserted_primary_key[0]), name, display_name.strip() or name, role)


def set_role(engine: sa.engine.Engine, username: str, role: str) -> str:
    """Gives an account another role (from its next request on); returns its username."""
    name = username.strip().lower()
    try:
        role = roles.check_role(role)
    except ValueError as error:
        raise AccountError(str(error)) from None
    with engine.begin() as conn:
        if conn.execute(staff_users.update().where(staff_users.c.username == name)
                        .values(role=role)).rowcount == 0:
            raise AccountError(f"no account '{name}'")
    return name


def list_users(engine: sa.engine.Engine) -> list[dict[str, Any]]:
    """Every account, active first, by username (no password hashes)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(
            staff_users.c.username, staff_users.c.display_name, staff_users.c.role,
            staff_users.c.active, staff_users.c.created_at, staff_users.c.locked_until,
        ).order_by(staff_users.c.active.desc(), staff_users.c.username)).mappings().all()
    return [dict(row) for row in rows]


def set_password(engine: sa.engine.Engine, username: str, password: str) -> str:
    """Sets a new password, unlocks the account and ends its sessions; returns its username."""
    name = check_new_account(username, password)
    with engine.begin() as conn:
        updated = conn.execute(staff_users.update().where(staff_users.c.username == name).values(
            password_hash=hasher.hash(password), failed_logins=0, locked_until=None))
        if updated.rowcount == 0:
            raise AccountError(f"no account '{name}'")
        user_id = conn.execute(
            sa.select(staff_users.c.id).where(staff_users.c.username == name)).scalar_one()
        conn.execute(staff_sessions.delete().where(staff_sessions.c.user_id == user_id))
    return name


def deactivate_user(engine: sa.engine.Engine, username: str) -> str:
    """Stops an account from signing in and ends its sessions; returns its username."""
    name = username.strip().lower()
    with engine.begin() as conn:
        user_id = conn.execute(
            sa.select(staff_users.c.id).where(staff_users.c.username == name)).scalar_one_or_none()
        if user_id is None:
            raise AccountError(f"no account '{name}'")
        conn.execute(staff_users.update().where(staff_users.c.id == user_id).values(active=False))
        conn.execute(staff_sessions.delete().where(staff_sessions.c.user_id == user_id))
    return name


def authenticate(engine: sa.engine.Engine, username: str, password: str,
                 at: Optional[datetime] = None) -> LoginResult:
    """Checks a password; counts failures and locks the account after too many.

    The password is checked outside any write transaction (argon2 takes tens of
    milliseconds); a failure is then counted with one UPDATE ... SET failed_logins =
    failed_logins + 1, read back in the same transaction, so that tries made at the
    same time all count. A locked, unknown or deactivated account costs the same
    argon2 check as a wrong password, so the time taken does not tell them apart."""
    moment = at or now_utc()
    name = username.strip().lower()
    with engine.connect() as conn:
        row = conn.execute(sa.select(staff_users).where(staff_users.c.username == name)).mappings().first()
    if row is None or not row["active"]:
        _verify(_UNKNOWN_USER_HASH, password)
        return LoginResult(None)
    locked_until = _aware(row["locked_until"])
    if locked_until is not None and locked_until > moment:
        _verify(_UNKNOWN_USER_HASH, password)
        return LoginResult(None, locked_until)
    # the account as it must still be when the answer is written (tries made at the
    # same time may have locked it meanwhile)
    open_account = sa.and_(
        staff_users.c.id == row["id"], staff_users.c.active.is_(True),
        sa.or_(staff_users.c.locked_until.is_(None), staff_users.c.locked_until <= moment))
    right = _verify(row["password_hash"], password)
    with engine.begin() as conn:
        if not right:
            return _count_failure(conn, row["id"], open_account, moment)
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if hasher.check_needs_rehash(row["password_hash"]):
            values["password_hash"] = hasher.hash(password)
        if conn.execute(staff_users.update().where(open_account).values(**values)).rowcount == 0:
            return LoginResult(None)  # locked or deactivated meanwhile
        return LoginResult(StaffMember(row["id"], row["username"], row["display_name"], row["role"]))


def _count_failure(conn: sa.engine.Connection, user_id: int, open_account: Any,
                   moment: datetime) -> LoginResult:
    """One more wrong password; locks the account when that makes too many."""
    counted = conn.execute(staff_users.update().where(open_account).values(
        failed_logins=staff_users.c.failed_logins + 1))
    if counted.rowcount == 0:  # locked or deactivated meanwhile: nothing to count
        return LoginResult(None)
    failures = conn.execute(
        sa.select(staff_users.c.failed_logins).where(staff_users.c.id == user_id)).scalar_one()
    if failures < MAX_FAILED_LOGINS:
        return LoginResult(None)
    lock = moment + LOCKOUT
    conn.execute(staff_users.update().where(staff_users.c.id == user_id).values(
        failed_logins=0, locked_until=lock))
    return LoginResult(None, lock)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(engine: sa.engine.Engine, member: StaffMember, hours: float) -> str:
    token = secrets.token_urlsafe(32)
    moment = now_utc()
    with engine.begin() as conn:
        conn.execute(staff_sessions.delete().where(staff_sessions.c.expires_at < moment))
        conn.execute(staff_sessions.insert().values(
            token_hash=_token_hash(token), user_id=member.id, created_at=moment,
            expires_at=moment + timedelta(hours=hours)))
    return token


def session_member(engine: sa.engine.Engine, token: str) -> Optional[StaffMember]:
    """The staff member of a session token that has not expired or been ended."""
    if not token:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(staff_users.c.id, staff_users.c.username, staff_users.c.display_name,
                      staff_users.c.role, staff_users.c.active, staff_sessions.c.expires_at)
            .join(staff_users, staff_users.c.id == staff_sessions.c.user_id)
            .where(staff_sessions.c.token_hash == _token_hash(token))
        ).mappings().first()
    if row is None or not row["active"] or _aware(row["expires_at"]) <= now_utc():
        return None
    return StaffMember(row["id"], row["username"], row["display_name"], row["role"])


def end_session(engine: sa.engine.Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(staff_sessions.delete().where(staff_sessions.c.token_hash == _token_hash(token)))
