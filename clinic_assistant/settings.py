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
        )
