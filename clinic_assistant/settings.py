"""One settings object for every process, read from the environment.

Each setting has a documented default that suits `make run` on one machine; see
`.env.example` for the list.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variable:
    """One environment variable: its group, its default ("" = not set) and what it does."""

    name: str
    group: str
    default: str
    doc: str


# Every environment variable the project reads, once, with its default (issue #17).
# `.env.example` and the README's table list exactly these (tests/test_settings_documented.py);
# `python -m clinic_assistant.settings` prints the README's table.
VARIABLES: tuple[Variable, ...] = (
    Variable("BIND_HOST", "servers", "127.0.0.1", "address the servers of `make run` listen on"),
    Variable("RASA_PORT", "servers", "5005", "the Rasa server's port"),
    Variable("ACTION_PORT", "servers", "5055", "the action server's port"),
    Variable("WIDGET_PORT", "servers", "8080", "the demo clinic website with the chat widget"),
    Variable("STAFF_PORT", "servers", "8081", "the staff console"),
    Variable("ACTION_SERVER_URL", "servers", "http://127.0.0.1:5055/webhook", "where the Rasa server finds the action server"),
    Variable("ACTION_TIMEOUT_SECONDS", "servers", "1.5", "how long the Rasa server waits for a custom action before apologising with the clinic phone"),
    Variable("RESPONSES_DIR", "servers", "", "where answer texts are read while the bot runs (default `domain/`)"),
    Variable("CLINIC_PROFILE", "clinic", "clinic/profile.yml", "the clinic's name, contact details and hours"),
    Variable("DATABASE_URL", "database", "", "conversations and the project's tables (default: SQLite in `var/tracker.db`; PostgreSQL: `postgresql://user:password@host:5432/clinic`)"),
    Variable("LOCK_STORE_URL", "redis", "memory://", "one turn of a conversation at a time: `memory://` for one process, `redis://:password@host:6379/1` for replicas (also the widget's rooms)"),
    Variable("TICKET_LOCK_LIFETIME", "redis", "60", "seconds a conversation stays locked by a replica that died mid-turn (compose: 20)"),
    Variable("CONVERSATION_ID_SECRET", "security", "", "keys conversation ids (32+ random characters; `make run` makes one in `var/`)"),
    Variable("RASA_API_TOKEN", "rasa_api", "", "turns Rasa's HTTP API on, protected by it (24+ characters)"),
    Variable("RASA_JWT_SECRET", "rasa_api", "", "or: Rasa's HTTP API protected by JWTs with this secret"),
    Variable("RASA_JWT_METHOD", "rasa_api", "HS256", "the JWT algorithm"),
    Variable("RASA_CORS_ORIGINS", "rasa_api", "", "websites allowed to call the bot's HTTP endpoints from a browser (never `*`)"),
    Variable("WIDGET_ORIGINS", "widget", "http://127.0.0.1:8080,http://localhost:8080", "websites allowed to open the chat (socket.io) connection"),
    Variable("RASA_URL", "staff", "http://127.0.0.1:5005", "where the staff console reaches the bot"),
    Variable("STAFF_API_TOKEN", "staff", "", "shared by the console and the Rasa server's staff channel (32+ random characters; `make run` makes one)"),
    Variable("STAFF_SECRET_KEY", "staff", "", "signs the console's session cookie (`make run` makes one)"),
    Variable("STAFF_COOKIE_SECURE", "staff", "false", "true behind HTTPS: the session cookie goes over HTTPS only"),
    Variable("STAFF_SESSION_HOURS", "staff", "8", "how long a console sign-in lasts"),
    Variable("SMTP_HOST", "smtp", "", "staff email for booking requests (none sent without it and CLINIC_NOTIFY_EMAIL)"),
    Variable("SMTP_PORT", "smtp", "", "default 587 (starttls), 465 (ssl) or 25 (none)"),
    Variable("SMTP_TLS", "smtp", "starttls", "starttls, ssl or none"),
    Variable("SMTP_USER", "smtp", "", "the SMTP login"),
    Variable("SMTP_PASSWORD", "smtp", "", "its password"),
    Variable("SMTP_FROM", "smtp", "", "the sender (default: SMTP_USER)"),
    Variable("CLINIC_NOTIFY_EMAIL", "smtp", "", "who receives booking requests"),
    Variable("NOTIFY_RETRY_SECONDS", "smtp", "5,30,120", "waits between email attempts"),
    Variable("TWILIO_ACCOUNT_SID", "twilio", "", "SMS and WhatsApp through Twilio (off until set)"),
    Variable("TWILIO_AUTH_TOKEN", "twilio", "", "checks Twilio's request signatures"),
    Variable("TWILIO_SMS_NUMBER", "twilio", "", "the clinic's SMS number (E.164)"),
    Variable("TWILIO_WHATSAPP_NUMBER", "twilio", "", "the WhatsApp sender (`whatsapp:+1...`)"),
    Variable("TWILIO_WEBHOOK_BASE_URL", "twilio", "", "the public base URL Twilio calls, behind a proxy (for signatures)"),
    Variable("TWILIO_API_BASE_URL", "twilio", "", "Twilio's API (default: the twilio library's; the tests point it at a loopback fake)"),
    Variable("FACEBOOK_PAGE_ACCESS_TOKEN", "messenger", "", "Messenger (off until set)"),
    Variable("FACEBOOK_APP_SECRET", "messenger", "", "checks Meta's request signatures"),
    Variable("FACEBOOK_VERIFY_TOKEN", "messenger", "", "answers Meta's webhook verification"),
    Variable("FACEBOOK_GRAPH_URL", "messenger", "", "Meta's Graph API (default: the fbmessenger library's; the tests point it at a loopback fake)"),
    Variable("MESSENGER_MAX_EVENT_AGE_HOURS", "limits", "36", "a Messenger event older than this is dropped (Meta's retry period)"),
    Variable("WEBHOOK_IDS_KEPT_DAYS", "limits", "90", "how long handled webhook ids are kept against replays"),
    Variable("PUBLIC_URL", "deployment", "", "docker compose: the bot's public HTTPS address"),
    Variable("POSTGRES_PASSWORD", "deployment", "", "docker compose: PostgreSQL superuser's password (set-up only)"),
    Variable("CLINIC_APP_PASSWORD", "deployment", "", "docker compose: the clinic_app role's password"),
    Variable("REDIS_PASSWORD", "deployment", "", "docker compose: Redis's password"),
    Variable("AUDIT_REQUIRED", "ci", "", "1: `make audit` fails when the vulnerability database cannot be reached"),
)
_BY_NAME = {variable.name: variable for variable in VARIABLES}


def setting(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable's value from the environment, or its default (blank counts as unset)."""
    if name not in _BY_NAME:
        raise KeyError(f"{name} is not a setting: add it to VARIABLES in clinic_assistant/settings.py")
    env = os.environ if environ is None else environ
    return (env.get(name) or "").strip() or _BY_NAME[name].default


def markdown_table() -> str:
    rows = ["| variable | group | default | what it does |", "| --- | --- | --- | --- |"]
    rows += [f"| `{v.name}` | {v.group} | {f'`{v.default}`' if v.default else '–'} | {v.doc} |" for v in VARIABLES]
    return "\n".join(rows)


@dataclass(frozen=True)
class Settings:
    """Settings shared by the Rasa server, the action server and the tools."""

    clinic_profile_path: Path
    database_url: str
    # staff console (staff/)
    rasa_url: str = "http://127.0.0.1:5005"
    staff_api_token: str = ""
    staff_secret_key: str = ""
    staff_cookie_secure: bool = False
    staff_session_hours: float = 8.0
    # the Rasa server's lock store (clinic_assistant/rasa/lock_store.py); forgetting a
    # conversation takes its lock there
    lock_store_url: str = "memory://"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            # a relative path is the project's (the processes run from its root)
            clinic_profile_path=PROJECT_ROOT / setting("CLINIC_PROFILE", env),
            # One database for the conversations (Rasa's tracker store) and the
            # project's tables.
            database_url=setting("DATABASE_URL", env)
            or f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}",
            rasa_url=setting("RASA_URL", env).rstrip("/"),
            # shared by the staff console and the Rasa server's staff channel
            staff_api_token=setting("STAFF_API_TOKEN", env),
            # signs the staff console's session cookie
            staff_secret_key=setting("STAFF_SECRET_KEY", env),
            # true behind HTTPS (production): the cookie is then sent over HTTPS only
            staff_cookie_secure=setting("STAFF_COOKIE_SECURE", env).lower() in ("1", "true", "yes"),
            staff_session_hours=float(setting("STAFF_SESSION_HOURS", env)),
            lock_store_url=setting("LOCK_STORE_URL", env),
        )


if __name__ == "__main__":
    print(markdown_table())
