"""One settings object for every process, read from the environment.

Each setting has a documented default that suits `make run` on one machine; see
`.env.example` for the list.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    # the Rasa server's lock store (clinic_assistant/lock_store.py); forgetting a
    # conversation takes its lock there
    lock_store_url: str = "memory://"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            clinic_profile_path=Path(
                env.get("CLINIC_PROFILE", PROJECT_ROOT / "clinic" / "profile.yml")
            ),
            # One database for the conversations (Rasa's tracker store) and the
            # project's tables.
            database_url=env.get("DATABASE_URL")
            or f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}",
            rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            # shared by the staff console and the Rasa server's staff channel
            staff_api_token=env.get("STAFF_API_TOKEN", ""),
            # signs the staff console's session cookie
            staff_secret_key=env.get("STAFF_SECRET_KEY", ""),
            # true behind HTTPS (production): the cookie is then sent over HTTPS only
            staff_cookie_secure=env.get("STAFF_COOKIE_SECURE", "false").lower() in ("1", "true", "yes"),
            staff_session_hours=float(env.get("STAFF_SESSION_HOURS", "8")),
            lock_store_url=env.get("LOCK_STORE_URL", "") or "memory://",
        )
