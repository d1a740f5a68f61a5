"""Email to clinic staff over SMTP, configured from the environment.

    SMTP_HOST           server name; unset = no email (the request is still saved)
    SMTP_PORT           default 587 (465 with SMTP_TLS=ssl, 25 with none)
    SMTP_TLS            starttls (default) | ssl | none
    SMTP_USER, SMTP_PASSWORD   login, if the server needs one
    SMTP_FROM           sender address (default: SMTP_USER, else assistant@localhost)
    CLINIC_NOTIFY_EMAIL recipient: the clinic's front desk
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Mapping, Optional

from clinic_assistant.settings import Settings

SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str
    user: Optional[str]
    password: Optional[str]
    sender: str
    recipient: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Optional["SmtpSettings"]:
        """The settings, or None when email is not configured (no host or recipient)."""
        smtp = Settings.from_env(env).smtp
        if not smtp.host or not smtp.notify_email:
            return None
        tls = smtp.tls.lower()
        if tls not in ("starttls", "ssl", "none"):
            raise ValueError(f"SMTP_TLS must be starttls, ssl or none, not {tls!r}")
        default_port = {"starttls": 587, "ssl": 465, "none": 25}[tls]
        return cls(
            host=smtp.host,
            port=smtp.port or default_port,
            tls=tls,
            user=smtp.user or None,
            password=smtp.password or None,
            sender=smtp.sender or smtp.user or "assistant@localhost",
            recipient=smtp.notify_email,
        )


def send_email(settings: SmtpSettings, subject: str, body: str) -> None:
    """Sends one plain-text email (blocking; call it from a thread). Raises on failure."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = settings.recipient
    message["Subject"] = subject
    message.set_content(body)
    if settings.tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS,
            context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if settings.tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.user and settings.password:
            client.login(settings.user, settings.password)
        client.send_message(message)
