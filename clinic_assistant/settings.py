"""One typed settings object for every process, read from the environment (issue #17).

Every environment variable the project reads is a field of one group below, with its
default written once (as the text one would put in the environment) and what it does.
`.env.example` and the README's table list exactly these
(tests/test_settings_documented.py); `python -m clinic_assistant.settings` prints the
README's table. No other module reads the environment for a project setting.

    settings = Settings.from_env()
    settings.database.url, settings.smtp.host, settings.widget.origins, ...

A value that cannot be read (a port that is not a number) stops the process at start
with the variable's name, rather than being replaced by the default.
"""
from __future__ import annotations

import functools
import os
import sys
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A variable's value cannot be read; the message names it."""


@dataclass(frozen=True)
class Variable:
    """One environment variable: its group, its default ("" = not set) and what it does."""

    name: str
    default: str
    doc: str
    group: str = ""


def var(name: str, default: str, doc: str) -> Any:
    """A settings field read from ``name``; ``default`` is the text used when it is unset
    or blank."""
    return Variable(name, default, doc)


def _words(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parse(kind: Any, text: str, name: str) -> Any:
    """``text`` as the field's type (str, int, float, bool, Path, Optional[int],
    tuple[str, ...], tuple[float, ...])."""
    try:
        if kind is str:
            return text
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("", "0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is Path:
            return PROJECT_ROOT / text  # a relative path is the project's
        if kind == Optional[int]:
            return int(text) if text else None
        if kind == tuple[str, ...]:
            return _words(text)
        if kind == tuple[float, ...]:
            return tuple(float(part) for part in _words(text))
    except ValueError as error:
        raise SettingsError(f"{name}={text!r} cannot be read: {error}") from None
    raise TypeError(f"{name}: no reader for {kind}")


_Group = TypeVar("_Group")


def group(title: str) -> Callable[[type[_Group]], type[_Group]]:
    """Makes a class of `var` fields a frozen dataclass whose defaults are the parsed
    default texts; the variables are listed in the class's ``VARIABLES``."""

    def make(cls: type[_Group]) -> type[_Group]:
        hints = typing.get_type_hints(cls)
        declared: list[Variable] = []
        for attribute, value in list(vars(cls).items()):
            if isinstance(value, Variable):
                variable = Variable(value.name, value.default, value.doc, title)
                declared.append(variable)
                setattr(cls, attribute, field(
                    default=_parse(hints[attribute], value.default, value.name),
                    metadata={"variable": variable, "kind": hints[attribute]}))
        made: Any = dataclass(frozen=True)(cls)
        made.VARIABLES = tuple(declared)
        return made  # type: ignore[no-any-return]

    return make


@group("servers")
class Servers:
    bind_host: str = var("BIND_HOST", "127.0.0.1", "address the servers of `make run` listen on")
    # the ports are text: only the Makefile and the Procfile use them, and Kubernetes sets
    # <SERVICE>_PORT=tcp://ip:port in every pod for a Service of that name
    rasa_port: str = var("RASA_PORT", "5005", "the Rasa server's port")
    action_port: str = var("ACTION_PORT", "5055", "the action server's port")
    widget_port: str = var("WIDGET_PORT", "8080", "the demo clinic website with the chat widget")
    staff_port: str = var("STAFF_PORT", "8081", "the staff console")
    action_server_url: str = var("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook", "where the Rasa server finds the action server")
    action_timeout_seconds: float = var("ACTION_TIMEOUT_SECONDS", "1.5", "how long the Rasa server waits for a custom action before apologising with the clinic phone")
    responses_dir: str = var("RESPONSES_DIR", "", "where answer texts are read while the bot runs (default `domain/`)")


@group("clinic")
class Clinic:
    profile: Path = var("CLINIC_PROFILE", "clinic/profile.yml", "the clinic's name, contact details and hours")
    demo: bool = var("CLINIC_DEMO", "false", "true: the containers start on the profile's EXAMPLE values (a demo); otherwise they refuse to")


@group("database")
class Database:
    url: str = var("DATABASE_URL", "", "conversations and the project's tables (default: SQLite in `var/tracker.db`; PostgreSQL: `postgresql://user:password@host:5432/clinic`)")

    def __post_init__(self) -> None:
        if not self.url:  # one database for Rasa's conversations and the project's tables
            object.__setattr__(self, "url", f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}")


@group("redis")
class Redis:
    lock_store_url: str = var("LOCK_STORE_URL", "memory://", "one turn of a conversation at a time: `memory://` for one process, `redis://:password@host:6379/1` for replicas (also the widget's rooms)")
    # read by Rasa itself (rasa.core.lock_store), through endpoints.yml's defaults
    ticket_lock_lifetime: float = var("TICKET_LOCK_LIFETIME", "60", "seconds a conversation stays locked by a replica that died mid-turn (compose: 20)")


@group("security")
class Security:
    conversation_id_secret: str = var("CONVERSATION_ID_SECRET", "", "keys conversation ids (32+ random characters; `make run` makes one in `var/`)")


@group("rasa_api")
class RasaApi:
    token: str = var("RASA_API_TOKEN", "", "turns Rasa's HTTP API on, protected by it (24+ characters)")
    jwt_secret: str = var("RASA_JWT_SECRET", "", "or: Rasa's HTTP API protected by JWTs with this secret")
    jwt_method: str = var("RASA_JWT_METHOD", "HS256", "the JWT algorithm")
    cors_origins: tuple[str, ...] = var("RASA_CORS_ORIGINS", "", "websites allowed to call the bot's HTTP endpoints from a browser (never `*`)")


@group("widget")
class Widget:
    origins: tuple[str, ...] = var("WIDGET_ORIGINS", "http://127.0.0.1:8080,http://localhost:8080", "websites allowed to open the chat (socket.io) connection")


@group("staff")
class Staff:
    rasa_url: str = var("RASA_URL", "http://127.0.0.1:5005", "where the staff console reaches the bot")
    api_token: str = var("STAFF_API_TOKEN", "", "shared by the console and the Rasa server's staff channel (32+ random characters; `make run` makes one)")
    secret_key: str = var("STAFF_SECRET_KEY", "", "signs the console's session cookie (`make run` makes one)")
    cookie_secure: bool = var("STAFF_COOKIE_SECURE", "false", "true behind HTTPS: the session cookie goes over HTTPS only")
    session_hours: float = var("STAFF_SESSION_HOURS", "8", "how long a console sign-in lasts")

    def __post_init__(self) -> None:
        object.__setattr__(self, "rasa_url", self.rasa_url.rstrip("/"))


@group("training")
class Training:
    models_dir: str = var("CONSOLE_MODELS_DIR", "", "where the background trainer writes models with staff's new topics and wordings, and the only folder the bot loads them from (default `models/console/`)")
    replica_urls: tuple[str, ...] = var("RASA_REPLICA_URLS", "", "every Rasa server the trainer loads a new model into (comma-separated; default `RASA_URL`)")
    poll_seconds: float = var("TRAINER_POLL_SECONDS", "1", "how often the trainer looks for approved additions")

    def __post_init__(self) -> None:
        if not self.models_dir:
            object.__setattr__(self, "models_dir", str(PROJECT_ROOT / "models" / "console"))


@group("smtp")
class Smtp:
    host: str = var("SMTP_HOST", "", "staff email for booking requests (none sent without it and CLINIC_NOTIFY_EMAIL)")
    port: Optional[int] = var("SMTP_PORT", "", "default 587 (starttls), 465 (ssl) or 25 (none)")
    tls: str = var("SMTP_TLS", "starttls", "starttls, ssl or none")
    user: str = var("SMTP_USER", "", "the SMTP login")
    password: str = var("SMTP_PASSWORD", "", "its password")
    sender: str = var("SMTP_FROM", "", "the sender (default: SMTP_USER)")
    notify_email: str = var("CLINIC_NOTIFY_EMAIL", "", "who receives booking requests")
    retry_seconds: tuple[float, ...] = var("NOTIFY_RETRY_SECONDS", "5,30,120", "waits between email attempts")


@group("twilio")
class Twilio:
    account_sid: str = var("TWILIO_ACCOUNT_SID", "", "SMS and WhatsApp through Twilio (off until set)")
    auth_token: str = var("TWILIO_AUTH_TOKEN", "", "checks Twilio's request signatures")
    sms_number: str = var("TWILIO_SMS_NUMBER", "", "the clinic's SMS number (E.164)")
    whatsapp_number: str = var("TWILIO_WHATSAPP_NUMBER", "", "the WhatsApp sender (`whatsapp:+1...`)")
    webhook_base_url: str = var("TWILIO_WEBHOOK_BASE_URL", "", "the public base URL Twilio calls, behind a proxy (for signatures)")
    api_base_url: str = var("TWILIO_API_BASE_URL", "", "Twilio's API (default: the twilio library's; the tests point it at a loopback fake)")


@group("messenger")
class Messenger:
    page_access_token: str = var("FACEBOOK_PAGE_ACCESS_TOKEN", "", "Messenger (off until set)")
    app_secret: str = var("FACEBOOK_APP_SECRET", "", "checks Meta's request signatures")
    verify_token: str = var("FACEBOOK_VERIFY_TOKEN", "", "answers Meta's webhook verification")
    graph_url: str = var("FACEBOOK_GRAPH_URL", "", "Meta's Graph API (default: the fbmessenger library's; the tests point it at a loopback fake)")


@group("limits")
class Limits:
    messenger_max_event_age_hours: float = var("MESSENGER_MAX_EVENT_AGE_HOURS", "36", "a Messenger event older than this is dropped (Meta's retry period)")
    webhook_ids_kept_days: float = var("WEBHOOK_IDS_KEPT_DAYS", "90", "how long handled webhook ids are kept against replays")


@group("deployment")
class Deployment:
    """Read by deploy/docker-compose.yml, not by the Python processes."""

    public_url: str = var("PUBLIC_URL", "", "docker compose: the bot's public HTTPS address")
    postgres_password: str = var("POSTGRES_PASSWORD", "", "docker compose: PostgreSQL superuser's password (set-up only)")
    clinic_app_password: str = var("CLINIC_APP_PASSWORD", "", "docker compose: the clinic_app role's password")
    redis_password: str = var("REDIS_PASSWORD", "", "docker compose: Redis's password")
    clinic_image: str = var("CLINIC_IMAGE", "clinic-assistant:latest", "docker compose: the project image's name (your registry's, or the one `make deploy-test` builds)")
    python_image: str = var("PYTHON_IMAGE", "python:3.10-slim-bookworm", "docker compose build: the Python base image (deploy/images/ makes a local one)")
    edge_network_prefix: str = var("EDGE_NETWORK_PREFIX", "172.30.10", "docker compose: the first three numbers of the network nginx reaches the Rasa replicas and the website on (fixed addresses .11-.13)")
    staff_network_prefix: str = var("STAFF_NETWORK_PREFIX", "172.30.11", "docker compose: the same for the staff console's network (.13)")
    node_image: str = var("NODE_IMAGE", "node:20-bookworm-slim", "docker compose build: the Node.js image that bundles the widget")


@group("ci")
class Ci:
    audit_required: bool = var("AUDIT_REQUIRED", "", "1: `make audit` fails when the vulnerability database cannot be reached")


@dataclass(frozen=True)
class Settings:
    """Every setting of every process, by group."""

    servers: Servers = field(default_factory=Servers)
    clinic: Clinic = field(default_factory=Clinic)
    database: Database = field(default_factory=Database)
    redis: Redis = field(default_factory=Redis)
    security: Security = field(default_factory=Security)
    rasa_api: RasaApi = field(default_factory=RasaApi)
    widget: Widget = field(default_factory=Widget)
    staff: Staff = field(default_factory=Staff)
    training: Training = field(default_factory=Training)
    smtp: Smtp = field(default_factory=Smtp)
    twilio: Twilio = field(default_factory=Twilio)
    messenger: Messenger = field(default_factory=Messenger)
    limits: Limits = field(default_factory=Limits)
    deployment: Deployment = field(default_factory=Deployment)
    ci: Ci = field(default_factory=Ci)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "Settings":
        """The settings from ``environ`` (default: the process's environment); a blank
        value counts as unset. Raises SettingsError naming every unreadable value."""
        env = os.environ if environ is None else environ
        # read on every turn (actions, tokens, webhooks): parsed once per distinct set
        # of values, so a changed environment (tests) is still read afresh
        return _parsed(tuple((env.get(v.name) or "").strip() for v in VARIABLES))

    @staticmethod
    def is_set(name: str, environ: Optional[Mapping[str, str]] = None) -> bool:
        """Whether the environment sets ``name`` (not blank): where a setting also has a
        place in a Rasa file (credentials.yml), the environment wins only when set."""
        if name not in _BY_NAME:
            raise KeyError(f"{name} is not a setting: add it to clinic_assistant/settings.py")
        env = os.environ if environ is None else environ
        return bool((env.get(name) or "").strip())


GROUPS: dict[str, type] = {
    "servers": Servers, "clinic": Clinic, "database": Database, "redis": Redis,
    "security": Security, "rasa_api": RasaApi, "widget": Widget, "staff": Staff, "training": Training,
    "smtp": Smtp,
    "twilio": Twilio, "messenger": Messenger, "limits": Limits, "deployment": Deployment, "ci": Ci,
}
VARIABLES: tuple[Variable, ...] = tuple(v for cls in GROUPS.values() for v in cls.VARIABLES)  # type: ignore[attr-defined]
_BY_NAME = {variable.name: variable for variable in VARIABLES}


@functools.lru_cache(maxsize=16)
def _parsed(texts: tuple[str, ...]) -> Settings:
    """The settings from the variables' texts, in VARIABLES' order ("" = default)."""
    given = dict(zip((v.name for v in VARIABLES), texts, strict=True))
    groups: dict[str, Any] = {}
    problems: list[str] = []
    for name, group_class in GROUPS.items():
        values = {}
        for item in fields(group_class):
            variable: Variable = item.metadata["variable"]
            if given[variable.name]:
                try:
                    values[item.name] = _parse(item.metadata["kind"], given[variable.name], variable.name)
                except SettingsError as error:
                    problems.append(str(error))
        groups[name] = group_class(**values)
    if problems:
        raise SettingsError("; ".join(problems))
    return Settings(**groups)


def markdown_table() -> str:
    rows = ["| variable | group | default | what it does |", "| --- | --- | --- | --- |"]
    rows += [f"| `{v.name}` | {v.group} | {f'`{v.default}`' if v.default else '–'} | {v.doc} |" for v in VARIABLES]
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        Settings.from_env()  # raises, naming the unreadable values
    else:
        print(markdown_table())
