"""The Rasa server's entry point: ``rasa run`` with the project's changes to Rasa.

    python -m clinic_assistant.rasa.server --model models/clinic.tar.gz --port 5005 ...

Takes the same arguments as ``rasa run``. Before Rasa starts it refuses unsafe
settings (``security_arguments``, the conversation-id secret), imports skops before
Rasa imports TensorFlow (the cold start is about 4 s shorter), and applies every
change to Rasa's classes from ``clinic_assistant/rasa/patches.py`` (the table there
says what each one does and why; it refuses another Rasa version than they were read
from). What the custom-action safety net sends when an action fails or takes longer
than ``ACTION_TIMEOUT_SECONDS`` (default 1.5) is defined here: a short apology with
the clinic's phone number, and for a failed ``action_session_start`` the session's
clinic facts too (from the same shared code the action server uses).
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, List

from clinic_assistant.clinic.details import live_profile
from clinic_assistant.clinic.session import action_failed_text, session_start_events
from clinic_assistant.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

# the endpoints file the server was started with; a model loaded later (the staff
# channel's /model) gets its tracker store and answer renderer from it too
ENDPOINTS_FILE = "endpoints.yml"


def action_timeout() -> float:
    return Settings.from_env().servers.action_timeout_seconds


def fallback_events(action_name: str) -> List[Any]:
    """The events that stand in for a custom action that failed."""
    from rasa.shared.core.events import BotUttered, Event

    profile = live_profile()
    events: List[Any] = [
        BotUttered(
            text=action_failed_text(profile),
            metadata={"utter_action": "action_failed", "failed_action": action_name},
        )
    ]
    if action_name == "action_session_start":
        events += [Event.from_parameters(e) for e in session_start_events(profile)]
    return events


def import_skops_before_tensorflow() -> None:
    """Imports skops (which reads our intent classifier) while few modules are loaded.

    On import skops names every trusted scikit-learn type, and for each one it scans
    ``sys.modules``; after TensorFlow is imported that is thousands of modules, and
    loading the model took 4.5 s longer (py-spy on the cold start). Imported first,
    the same work takes about 1 s."""
    import skops.io  # noqa: F401


class UnsafeSettings(SystemExit):
    pass


MIN_STAFF_TOKEN_LENGTH = 32
PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "dev", "example", "token", "password", "test"}
PLACEHOLDER_WORDS = ("change", "example", "placeholder")


def staff_token_problem(token: str) -> str | None:
    """Why ``STAFF_API_TOKEN`` cannot be used (None if it can, or if it is unset: the
    staff channel then answers 503). Anyone holding it can reply to patients as staff."""
    if not token:
        return None
    lowered = token.lower()
    if lowered in PLACEHOLDER_SECRETS or any(word in lowered for word in PLACEHOLDER_WORDS):
        return "error: STAFF_API_TOKEN looks like a placeholder; set a random value (scripts/local-secret makes one)"
    if len(token) < MIN_STAFF_TOKEN_LENGTH:
        return (f"error: STAFF_API_TOKEN must be at least {MIN_STAFF_TOKEN_LENGTH} characters,"
                " random (scripts/local-secret makes one)")
    return None


def security_arguments(argv: List[str], env: Any) -> List[str]:
    """``rasa run`` arguments with the production settings read from the environment.

    - ``RASA_API_TOKEN`` (or ``RASA_JWT_SECRET``, with ``RASA_JWT_METHOD``, default
      HS256) turns on Rasa's HTTP API protected by it; ``--enable-api`` without a
      token or JWT secret is refused (Rasa would serve every conversation openly).
    - ``RASA_CORS_ORIGINS`` (comma-separated) are the origins browsers may call the
      bot's HTTP endpoints from; none by default. The widget's socket.io connection
      has its own list (``WIDGET_ORIGINS``).
    - ``STAFF_API_TOKEN``, when set, must be random and at least 32 characters.
    """
    args = list(argv)
    settings = Settings.from_env(env)
    problem = staff_token_problem(settings.staff.api_token)
    if problem:
        raise UnsafeSettings(problem)
    token, jwt_secret = settings.rasa_api.token, settings.rasa_api.jwt_secret
    if token:
        args += ["--enable-api", "--auth-token", token]
    if jwt_secret:
        args += ["--enable-api", "--jwt-secret", jwt_secret, "--jwt-method", settings.rasa_api.jwt_method]
    has_auth = any(a in args for a in ("-t", "--auth-token", "--jwt-secret", "--jwt-private-key"))
    if "--enable-api" in args and not has_auth:
        raise UnsafeSettings(
            "error: the Rasa HTTP API is on without a token: set RASA_API_TOKEN (or RASA_JWT_SECRET),"
            " or leave --enable-api out"
        )
    for name in (token, jwt_secret):
        if name and len(name) < 24:
            raise UnsafeSettings("error: RASA_API_TOKEN / RASA_JWT_SECRET must be at least 24 characters")
    origins = list(settings.rasa_api.cors_origins)
    if "*" in origins:
        raise UnsafeSettings("error: RASA_CORS_ORIGINS must list the origins; '*' would let any website call the bot")
    if origins:
        args += ["--cors", *origins]
    return args


def remember_endpoints_file(args: List[str]) -> None:
    """Keeps the ``--endpoints`` file where the staff channel reads it. Run as ``python
    -m``, this module is ``__main__``; the channel imports it by its name."""
    import clinic_assistant.rasa.server as by_name

    for number, arg in enumerate(args):
        if arg == "--endpoints" and number + 1 < len(args):
            by_name.ENDPOINTS_FILE = args[number + 1]
        elif arg.startswith("--endpoints="):
            by_name.ENDPOINTS_FILE = arg.split("=", 1)[1]


def main() -> None:
    try:
        args = security_arguments(sys.argv[1:], os.environ)
    except SettingsError as error:
        raise UnsafeSettings(f"error: {error}") from None
    from clinic_assistant.clinic import identity

    try:  # conversation ids are keyed with it (clinic_assistant/clinic/identity.py)
        identity.check_secret()
    except identity.MissingSecret as error:
        raise UnsafeSettings(f"error: {error}") from None
    import_skops_before_tensorflow()
    from clinic_assistant.rasa import patches as rasa_patches
    from clinic_assistant.rasa.cli import quiet_third_party_warnings

    quiet_third_party_warnings()

    rasa_patches.apply()  # refuses to start on another Rasa version than they were read from
    from clinic_assistant.clinic.db import engine_for

    engine_for(Settings.from_env().database.url)  # migrates the project's tables before any turn
    from rasa.__main__ import main as rasa_main

    remember_endpoints_file(args)
    sys.argv = ["rasa", "run", *args]
    rasa_main()


if __name__ == "__main__":
    main()
