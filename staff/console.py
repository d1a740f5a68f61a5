"""What every page of the console shares: the settings, the database, the clinic's
profile and time zone, and the checks on what a request may ask for. Made once by
`create_app` and kept on the app (``current_app.extensions["clinic_console"]``)."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from werkzeug.routing import BaseConverter, ValidationError

from clinic_assistant.clinic.details import live_profile
from clinic_assistant.clinic.profile import ClinicProfile
from clinic_assistant.settings import Settings
from staff.privacy import e164

EXTENSION = "clinic_console"


@dataclass(frozen=True)
class Console:
    settings: Settings
    engine: sa.engine.Engine

    def profile(self) -> ClinicProfile:
        """The clinic's details as the bot states them now (clinic_assistant/clinic/details.py)."""
        return live_profile(self.settings)

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.profile().timezone)

    def keep(self) -> frozenset[str]:
        """What masking leaves visible: the clinic's own phone number."""
        return frozenset({e164(self.profile().phone)} - {""})


def console() -> Console:
    """The console of the app handling this request."""
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


class ConversationIdConverter(BaseConverter):
    """Conversation ids in URLs: readable when they are plain (``web:3f2a…``), else
    ``~`` and their base64url form, so an id with ``/``, ``?``, ``%``, spaces or dots
    (old or REST ids) can still be opened and forgotten from the console."""

    PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]*")

    def to_url(self, value: Any) -> str:
        text = str(value)
        if self.PLAIN.fullmatch(text):
            return text
        return "~" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def to_python(self, value: str) -> str:
        if not value.startswith("~"):
            return value
        try:
            return base64.urlsafe_b64decode(value[1:] + "=" * (-len(value[1:]) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            raise ValidationError() from None


# in a redirect target: control characters (browsers drop tabs and newlines, so
# "/\t/evil.com" becomes "//evil.com") and backslashes (read as "/")
_NOT_IN_A_PATH = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def local_path(target: str, default: str) -> str:
    """``target`` if it is a path on this site (a single leading "/", no backslash, no
    control character, no scheme), else ``default``. The path is checked once more
    percent-decoded, as a proxy in front might decode it: "/%5Cevil.com" is refused."""
    path = unquote(target.split("?", 1)[0].split("#", 1)[0])
    for text in (target, path):
        if not text.startswith("/") or text.startswith("//") or _NOT_IN_A_PATH.search(text):
            return default
    return target
