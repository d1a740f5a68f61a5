"""Whose conversation is it: conversation ids that a client cannot choose or guess.

Every conversation id names its channel, ``<kind>:<key>``:

- ``web:<32 hex>``: issued by the server to the widget. The widget holds a *token*,
  the random part signed with ``CONVERSATION_ID_SECRET`` (itsdangerous); a token the
  server did not sign opens nothing (a new conversation starts instead).
- ``sms:<32 hex>``, ``whatsapp:<32 hex>``, ``messenger:<32 hex>``: a keyed hash
  (HMAC-SHA256 with the same secret) of the phone number or Messenger user id. The
  number itself is never the id; it is kept as the conversation's contact
  (``conversation_contacts``), which staff see masked until they reveal it.
- ``rest:<name>``: the REST channel's ``sender`` (for integrations and tests; the REST
  channel is not published to the internet, see deploy/).

A channel reads and writes only ids of its own kind, and a staff reply goes to the
channel the id names (``channel_of``). Rotating the secret cuts every widget off its
conversation and files the next SMS of a known number under a new id: set it once.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Optional

import phonenumbers
from itsdangerous import BadSignature, Signer
from clinic_assistant.settings import Settings

SECRET_VARIABLE = "CONVERSATION_ID_SECRET"
MIN_SECRET_LENGTH = 32
PLACEHOLDERS = ("change", "example", "placeholder")

# Rasa input channel name -> id kind
KIND_OF_CHANNEL = {
    "socketio": "web",
    "rest": "rest",
    "twilio": "sms",
    "whatsapp": "whatsapp",
    "facebook": "messenger",
}
CHANNEL_OF_KIND = {kind: channel for channel, kind in KIND_OF_CHANNEL.items()}
KINDS = tuple(CHANNEL_OF_KIND)
# kinds whose key is a keyed hash of an address the channel sends to
ADDRESS_KINDS = ("sms", "whatsapp", "messenger")

RANDOM_KEY = re.compile(r"[0-9a-f]{32}")
REST_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
TOKEN_SALT = "clinic-widget-conversation"


class IdentityError(ValueError):
    """An id a channel may not use, with the reason (for a 400)."""


class MissingSecret(RuntimeError):
    """CONVERSATION_ID_SECRET is unset, short or a placeholder."""


def secret_problem(value: str) -> Optional[str]:
    """Why a value cannot be the conversation id secret; None if it can."""
    if len(value) < MIN_SECRET_LENGTH:
        return (f"{SECRET_VARIABLE} must be a random string of at least {MIN_SECRET_LENGTH} "
                "characters (`make run` makes one in var/; in production set it in the environment)")
    if any(word in value.lower() for word in PLACEHOLDERS):
        return f"{SECRET_VARIABLE} looks like a placeholder; set a random value"
    return None


def _secret() -> bytes:
    value = Settings.from_env().security.conversation_id_secret
    problem = secret_problem(value)
    if problem:
        raise MissingSecret(problem)
    return value.encode()


def check_secret() -> None:
    """Raises MissingSecret with the reason when the secret is unusable (at start)."""
    _secret()


def kind_of(conversation_id: str) -> Optional[str]:
    """The kind an id names ("web", "sms", ...); None for an id without one."""
    kind, colon, _ = conversation_id.partition(":")
    return kind if colon and kind in KINDS else None


def channel_of(conversation_id: str) -> Optional[str]:
    """The Rasa input channel that owns a conversation id ("socketio", "twilio", ...)."""
    kind = kind_of(conversation_id)
    return CHANNEL_OF_KIND.get(kind) if kind else None


# --- the widget ------------------------------------------------------------------------
def _signer() -> Signer:
    return Signer(_secret(), salt=TOKEN_SALT, digest_method=hashlib.sha256)


def new_web_conversation() -> tuple[str, str]:
    """(conversation id, token) of a new widget conversation: 128 random bits."""
    key = secrets.token_hex(16)
    return f"web:{key}", _signer().sign(key).decode()


def web_conversation(token: object) -> Optional[str]:
    """The conversation id a widget token stands for; None if the server did not issue it."""
    if not isinstance(token, str) or not 0 < len(token) <= 200:
        return None
    try:
        key = _signer().unsign(token).decode()
    except BadSignature:
        return None
    return f"web:{key}" if RANDOM_KEY.fullmatch(key) else None


# --- messaging apps --------------------------------------------------------------------
def normalised_address(kind: str, address: str) -> str:
    """The form of an address that is hashed: E.164 for phone numbers (with or without
    Twilio's ``whatsapp:`` prefix), the page-scoped id as it is for Messenger."""
    address = address.strip()
    if kind in ("sms", "whatsapp"):
        number = address.removeprefix("whatsapp:") if kind == "whatsapp" else address
        try:
            parsed = phonenumbers.parse(number, "CA")
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            return number
    return address


def keyed_id(kind: str, value: str) -> str:
    """``kind:`` and 128 bits of HMAC-SHA256(secret, kind and value)."""
    message = f"{kind}\0{value}".encode()
    return f"{kind}:{hmac.new(_secret(), message, hashlib.sha256).hexdigest()[:32]}"


def address_conversation(kind: str, address: str) -> str:
    """The conversation id of a phone number or Messenger id: ``kind:`` and a keyed hash."""
    if kind not in ADDRESS_KINDS:
        raise ValueError(f"{kind!r} conversations are not keyed by an address")
    return keyed_id(kind, normalised_address(kind, address))


def is_current(conversation_id: str) -> bool:
    """Whether an id has this module's form (ids from before it are moved by
    ``python -m clinic_assistant.clinic.migrate_ids``)."""
    kind, _, key = conversation_id.partition(":")
    if kind == "rest":
        return bool(REST_NAME.fullmatch(key))
    return kind in KINDS and bool(RANDOM_KEY.fullmatch(key))


# --- the REST channel ------------------------------------------------------------------
def rest_conversation(sender: str) -> str:
    """The REST channel's conversation id for a ``sender``: ``rest:<sender>``.

    Raises IdentityError for an id of another channel or an unusable name."""
    kind = kind_of(sender)
    if kind is not None and kind != "rest":
        raise IdentityError(
            f"the REST channel cannot use {kind}: conversations; "
            "use a plain name or one starting with 'rest:'")
    name = sender[len("rest:"):] if kind == "rest" else sender
    if not REST_NAME.fullmatch(name):
        raise IdentityError(
            "'sender' must be 1-100 letters, digits, '.', '_' or '-' (optionally after 'rest:')")
    return f"rest:{name}"
