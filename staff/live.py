"""Talking to the patient through the Rasa server's staff channel
(clinic_assistant/channels/staff.py): a reply, or handing the conversation back."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from clinic_assistant.settings import Settings

TIMEOUT_SECONDS = 10
FORGET_BATCH = 200  # conversations per request to the Rasa server


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def _call(settings: Settings, path: str, body: dict[str, Any], timeout: float) -> tuple[int, dict[str, Any]]:
    """POSTs to the staff channel; (HTTP status, JSON answer or {}). Raises requests' errors."""
    answer = requests.post(
        f"{settings.staff.rasa_url}/webhooks/staff/{path}", json=body, timeout=timeout,
        headers={"Authorization": f"Bearer {settings.staff.api_token}"},
    )
    try:
        data = answer.json()
    except ValueError:
        data = {}
    return answer.status_code, data if isinstance(data, dict) else {}


def _reason(status: int, data: dict[str, Any]) -> str:
    return str(data.get("error") or f"HTTP {status}")


def _post(settings: Settings, path: str, body: dict[str, Any]) -> Outcome:
    if not settings.staff.api_token:
        return Outcome(False, "Live replies are not set up: STAFF_API_TOKEN is empty.")
    try:
        status, data = _call(settings, path, body, TIMEOUT_SECONDS)
    except requests.RequestException as error:
        return Outcome(False, f"The bot server could not be reached ({type(error).__name__}). Nothing was sent.")
    if status != 200:
        return Outcome(False, f"The bot server refused: {_reason(status, data)}. Nothing was sent.")
    if not data.get("delivered"):
        return Outcome(True, "Saved in the conversation, but this channel "
                             f"({data.get('channel') or 'unknown'}) cannot show it to the patient "
                             "now: contact them by phone or email.")
    return Outcome(True, "Sent to the patient.")


def send_reply(settings: Settings, conversation_id: str, text: str, staff_name: str) -> Outcome:
    return _post(settings, "reply", {
        "conversation_id": conversation_id, "text": text, "staff_name": staff_name})


def hand_back(settings: Settings, conversation_id: str, staff_name: str) -> Outcome:
    outcome = _post(settings, "hand_back", {
        "conversation_id": conversation_id, "staff_name": staff_name})
    if outcome.ok and outcome.message == "Sent to the patient.":
        return Outcome(True, "Handed back to the bot; the patient was told.")
    return outcome


@dataclass(frozen=True)
class Forgotten:
    ok: bool
    deleted: int
    message: str


DELETED = "The conversation was deleted everywhere."
NOT_FOUND = "There was nothing to delete: no such conversation."


def _done(deleted: int) -> Forgotten:
    return Forgotten(True, deleted, DELETED if deleted else NOT_FOUND)


def forget(settings: Settings, conversation_ids: list[str], actor: str) -> Forgotten:
    """Asks the Rasa server to delete conversations, each under its lock, so that a
    turn in progress cannot write one back after it was deleted. Each deletion is
    recorded in the audit log by the server, under ``actor``."""
    if not settings.staff.api_token:
        return Forgotten(False, 0, "Forgetting needs the bot server's staff channel: "
                                   "STAFF_API_TOKEN is empty. Nothing was deleted.")
    try:
        status, data = _call(settings, "forget", {"conversation_ids": conversation_ids, "staff_name": actor},
                             TIMEOUT_SECONDS * 6)
    except requests.Timeout:
        return Forgotten(False, 0, "The bot server did not answer in time: the deletion may still "
                                   "be going on. Reload the page to see whether it is done.")
    except requests.RequestException as error:
        return Forgotten(False, 0, f"The bot server could not be reached ({type(error).__name__}). "
                                   "Nothing was deleted; try again.")
    if status != 200:
        return Forgotten(False, 0, f"The bot server refused: {_reason(status, data)}. Nothing was deleted.")
    return _done(int(data.get("deleted") or 0))


def forget_everywhere(settings: Settings, engine: Any, ids: list[str], actor: str) -> Forgotten:
    """Deletes conversations, each under its lock, so that a turn in progress cannot
    write one back after it was deleted; each deletion is recorded under ``actor``.

    - Redis lock store (replicas): the locks are taken in Redis, here.
    - In-memory lock store (one Rasa process, ``make run``): the locks live in that
      Rasa server, so it is asked to do it. Only when nothing listens on its address
      on this machine (connection refused on loopback) is it certain that no turn is
      in progress, and the conversations are deleted here. Anything else (a time-out,
      a server elsewhere) is reported and nothing is deleted here.
    """
    from clinic_assistant.clinic.forget import delete_conversations, forget_under_locks

    url = settings.redis.lock_store_url
    if url.startswith(("redis://", "rediss://")):
        from clinic_assistant.rasa.lock_store import UrlLockStore

        try:
            return _done(asyncio.run(forget_under_locks(UrlLockStore(url=url), engine, ids, actor)))
        except Exception as error:  # Redis or the database unreachable: one transaction each
            return Forgotten(False, 0, f"Could not delete now ({type(error).__name__}); "
                                       "try again. Deleted conversations are in the audit log.")
    if not _local_server_listens(settings):
        return _done(delete_conversations(engine, ids, actor))
    deleted = 0
    for start in range(0, len(ids), FORGET_BATCH):
        outcome = forget(settings, ids[start:start + FORGET_BATCH], actor)
        if not outcome.ok:
            return Forgotten(False, deleted, outcome.message)
        deleted += outcome.deleted
    return _done(deleted)


def _local_server_listens(settings: Settings) -> bool:
    """False only when the Rasa server's address is this machine's loopback and nothing
    listens there (connection refused); True in every other case."""
    host = urlsplit(settings.staff.rasa_url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        return True
    try:
        requests.get(settings.staff.rasa_url, timeout=TIMEOUT_SECONDS)
    except requests.ConnectionError as error:
        return "refused" not in str(error).lower()
    except requests.RequestException:
        return True
    return True
