"""Talking to the patient through the Rasa server's staff channel
(clinic_assistant/channels/staff.py): a reply, or handing the conversation back."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import requests

from clinic_assistant.settings import Settings

TIMEOUT_SECONDS = 10
FORGET_BATCH = 200  # conversations per request to the Rasa server


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def _post(settings: Settings, path: str, body: dict[str, Any]) -> Outcome:
    if not settings.staff_api_token:
        return Outcome(False, "Live replies are not set up: STAFF_API_TOKEN is empty.")
    try:
        answer = requests.post(
            f"{settings.rasa_url}/webhooks/staff/{path}", json=body, timeout=TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {settings.staff_api_token}"},
        )
    except requests.RequestException as error:
        return Outcome(False, f"The bot server could not be reached ({type(error).__name__}). Nothing was sent.")
    try:
        data = answer.json()
    except ValueError:
        data = {}
    if answer.status_code != 200:
        reason = data.get("error") or f"HTTP {answer.status_code}"
        return Outcome(False, f"The bot server refused: {reason}. Nothing was sent.")
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
    reachable: bool = True  # False: the bot server did not answer at all


def forget(settings: Settings, conversation_ids: list[str], staff_name: str) -> Forgotten:
    """Asks the Rasa server to delete conversations, each under its lock, so that a
    turn in progress cannot write one back after it was deleted."""
    if not settings.staff_api_token:
        return Forgotten(False, 0, "Forgetting needs the bot server's staff channel: "
                                   "STAFF_API_TOKEN is empty. Nothing was deleted.")
    try:
        answer = requests.post(
            f"{settings.rasa_url}/webhooks/staff/forget", timeout=TIMEOUT_SECONDS * 6,
            json={"conversation_ids": conversation_ids, "staff_name": staff_name},
            headers={"Authorization": f"Bearer {settings.staff_api_token}"},
        )
    except requests.RequestException as error:
        return Forgotten(False, 0, f"The bot server could not be reached ({type(error).__name__}). "
                                   "Nothing was deleted; try again.", reachable=False)
    try:
        data = answer.json()
    except ValueError:
        data = {}
    if answer.status_code != 200:
        reason = data.get("error") or f"HTTP {answer.status_code}"
        return Forgotten(False, 0, f"The bot server refused: {reason}. Nothing was deleted.")
    deleted = int(data.get("deleted") or 0)
    return Forgotten(True, deleted, "The conversation was deleted everywhere.")


def forget_everywhere(settings: Settings, engine: Any, ids: list[str], actor: str) -> Forgotten:
    """Deletes conversations, each under its lock, so that a turn in progress cannot
    write one back after it was deleted:

    - Redis lock store (replicas): the locks are taken in Redis, here.
    - In-memory lock store (one Rasa process): the locks live in the Rasa server, so it
      is asked to do it; when it is not running at all, no turn can be in progress and
      the conversations are deleted here.
    """
    from clinic_assistant.forget import delete_conversations, forget_under_locks

    url = settings.lock_store_url
    if url.startswith(("redis://", "rediss://")):
        from clinic_assistant.lock_store import UrlLockStore

        try:
            deleted = asyncio.run(forget_under_locks(UrlLockStore(url=url), engine, ids))
        except Exception as error:  # Redis or the database unreachable
            return Forgotten(False, 0, f"Could not delete now ({type(error).__name__}). "
                                       "Nothing was deleted; try again.")
        return Forgotten(True, deleted, "The conversation was deleted everywhere.")
    if not _server_running(settings):  # nothing can be in the middle of a turn
        return Forgotten(True, delete_conversations(engine, ids), "The conversation was deleted everywhere.")
    deleted = 0
    for start in range(0, len(ids), FORGET_BATCH):
        outcome = forget(settings, ids[start:start + FORGET_BATCH], actor)
        if not outcome.ok:
            return Forgotten(False, deleted, outcome.message)
        deleted += outcome.deleted
    return Forgotten(True, deleted, "The conversation was deleted everywhere.")


def _server_running(settings: Settings) -> bool:
    """False only when nothing listens on the Rasa server's address (connection refused)."""
    try:
        requests.get(settings.rasa_url, timeout=TIMEOUT_SECONDS)
    except requests.ConnectionError as error:
        return "refused" not in str(error).lower()
    except requests.RequestException:
        return True
    return True
