"""Every change this project makes to Rasa's own classes, in one place (issue #17).

Read from Rasa Open Source 3.6.21 (``RASA_VERSION``). ``apply()`` refuses to run on any
other installed version, naming both: each patch below replaces or wraps code whose
body, private names or call order were read in that version, and a silent mismatch
would switch a safety net off without a word. After an upgrade, re-read each patched
method in the new version, adjust, and change ``RASA_VERSION``.

``python -m clinic_assistant.rasa.server`` (what ``make run``, the tests and the
containers start) calls ``apply()`` before Rasa starts. A bot started any other way
(``rasa run``, ``rasa shell``) runs without them, and the tracker store of
``endpoints.yml`` logs a warning saying so (``warn_if_not_applied``).

| patch | what it changes in Rasa 3.6.21 | why | test |
| --- | --- | --- | --- |
| ``action_safety_net`` | wraps ``RemoteAction.run`` | a custom action that fails or is slower than ``ACTION_TIMEOUT_SECONDS`` gets an apology with the clinic phone, not silence (Rasa waits up to 5 minutes, then logs and sends nothing) | tests/test_action_server_failure.py |
| ``fail_loud_tracker_store`` | replaces ``Agent._create_tracker_store`` | a database error fails the turn (REST 503, widget "send it again") instead of Rasa's ``FailSafeTrackerStore`` answering out of context from memory | tests/scale/test_faults.py, tests/test_tracker_store.py |
| ``clinic_processor`` | ``rasa.core.agent.MessageProcessor`` = ``ClinicMessageProcessor`` (a subclass: ``handle_message`` is 3.6's body plus the two additions; ``parse_message`` wraps Rasa's) | a message whose ``message_id`` is already in the conversation is answered from the record, under the lock; a channel's ``under_lock`` hook runs before the save; outside a form an opening "ok" / "thanks" is read past when the rest reads better, a short follow-up is read with the previous message, and "call me on 555" typed into a contact field stays its answer (clinic_assistant/clinic/context.py) | tests/test_rest_channel.py, tests/test_messaging.py, tests/test_understanding.py, tests/test_booking_conversations.py |
| ``cached_event_classes`` | wraps ``Event.resolve_by_type`` with a table | Rasa walks the whole Event class tree for every stored event on every turn (a third of a turn in our profile) | tests/test_server.py |
| ``compiled_action_response_check`` | replaces ``RemoteAction._validate_action_result`` | ``jsonschema.validate`` re-checks the schema against the metaschema for every custom action (~27 ms); the same schema is checked with a validator built once | tests/test_server.py |
| ``sqlite_tuning`` | a SQLAlchemy ``connect`` listener on every ``Engine`` of the process (Rasa's too) | WAL journal, NORMAL sync and a busy timeout for SQLite files (clinic_assistant/clinic/db.py) | tests/test_tracker_store.py |

Not patches, but private parts of Rasa this project relies on (check them on upgrade):
``clinic_assistant/rasa/tracker_store.py`` subclasses ``SQLTrackerStore`` and replaces its
engine and session set-up; ``clinic_assistant/channels/socketio.py`` subclasses
Rasa's socket.io input channel and registers its own handlers.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, List

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
_applied: list[str] = []


class WrongRasaVersion(SystemExit):
    pass


def version_problem(installed: str) -> str | None:
    if installed == RASA_VERSION:
        return None
    return (f"error: Rasa {installed} is installed, but clinic_assistant/rasa/patches.py was "
            f"written for Rasa {RASA_VERSION}; re-read each patched method in the new version "
            "(table at the top of that file) before changing RASA_VERSION")


def applied() -> list[str]:
    return list(_applied)


def warn_if_not_applied() -> None:
    if not _applied:
        logger.warning(
            "The bot was started without the project's entry point (python -m "
            "clinic_assistant.rasa.server; make run): the custom-action safety net, the "
            "fail-loud conversation store and the repeated-message check are OFF.")


# --- action_safety_net ------------------------------------------------------------------
_original_run: Any = None


async def _run_with_safety_net(self: Any, output_channel: Any, nlg: Any, tracker: Any,
                               domain: Any) -> List[Any]:
    from rasa.core.actions.action import ActionExecutionRejection

    from clinic_assistant.rasa.server import action_timeout, fallback_events

    try:
        return await asyncio.wait_for(
            _original_run(self, output_channel, nlg, tracker, domain), action_timeout())
    except ActionExecutionRejection:
        raise  # a form's normal way of saying "not this one"
    except (Exception, asyncio.TimeoutError) as error:
        logger.error(
            "Custom action '%s' failed for conversation %s (%s: %s); "
            "the patient was sent the apology with the clinic phone.",
            self.name(), tracker.sender_id, type(error).__name__, error,
        )
        return fallback_events(self.name())


def action_safety_net() -> None:
    """Wraps Rasa's RemoteAction.run (once) with the timeout and the apology."""
    global _original_run
    from rasa.core.actions.action import RemoteAction

    if RemoteAction.run is not _run_with_safety_net:
        _original_run = RemoteAction.run
        RemoteAction.run = _run_with_safety_net


# --- fail_loud_tracker_store ------------------------------------------------------------
class TrackerStoreUnavailable(Exception):
    """The conversations' database could not be read or written: the turn fails."""


def _raise_tracker_store_error(error: Exception) -> None:
    raise TrackerStoreUnavailable(f"the conversation store failed: {error}") from error


def fail_loud_tracker_store() -> None:
    """Makes a tracker-store error fail the turn instead of being hidden.

    Rasa wraps the tracker store in a ``FailSafeTrackerStore`` that, when the
    database is down, logs the error, starts the patient's conversation afresh (the
    read "found nothing") and keeps the turn in this process's memory only: the
    patient gets an answer out of context, and the turn is never in the record staff
    read, nor seen by the other replicas. Here the error reaches the channel, which
    tells the client to send the message again (REST 503, widget ``ok: false``).
    """
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore

    def create_tracker_store(store: Any, domain: Any) -> Any:
        if store is not None:
            store.domain = domain
        else:
            store = InMemoryTrackerStore(domain)
        return FailSafeTrackerStore(store, on_tracker_store_error=_raise_tracker_store_error)

    Agent._create_tracker_store = staticmethod(create_tracker_store)


# --- clinic_processor --------------------------------------------------------------------
def _processor_class() -> Any:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.processor import MessageProcessor
    from rasa.shared.data import TrainingType

    from clinic_assistant.channels.common import replies_after
    from clinic_assistant.clinic.context import (as_form_answer, previous_user_text, with_context,
                                                  without_acknowledgement)

    class ClinicMessageProcessor(MessageProcessor):  # type: ignore[misc]  # Rasa ships no type information
        """Rasa's processor with a repeated-message check and follow-up reading."""

        async def handle_message(self, message: Any) -> Any:
            """A message whose ``message_id`` is already in the conversation is not
            handled again: its stored replies go to the channel, marked ``replayed``.

            A client that lost an answer (a replica killed mid-turn, a time-out, a
            webhook delivered again) sends the same message again, maybe to another
            replica. The check runs on the conversation just loaded, under the
            conversation's lock, so it costs no extra read and two copies arriving at
            once are still handled once. An output channel with an ``under_lock``
            coroutine has it called with the conversation id just before the turn is
            saved, still under the lock. The rest is Rasa 3.6's ``handle_message``."""
            tracker = await self.fetch_tracker_and_update_session(
                message.sender_id, message.output_channel, message.metadata)
            stored = replies_after(list(tracker.events), message.message_id) if message.message_id else None
            if stored is not None:
                logger.info("Message %s of %s was handled before: answered from the record",
                            message.message_id, message.sender_id)
                message.output_channel.replayed = True
                for reply in stored:
                    await message.output_channel.send_response(message.sender_id, dict(reply))
            else:
                await self._handle_message_with_tracker(message, tracker)
                if self.model_metadata.training_type != TrainingType.NLU:
                    tracker = await self.run_action_extract_slots(message.output_channel, tracker)
                    await self._run_prediction_loop(message.output_channel, tracker)
                    await self.run_anonymization_pipeline(tracker)
            keep = getattr(message.output_channel, "under_lock", None)
            if keep is not None:  # e.g. a messaging conversation's number (channels/messaging.py)
                await keep(message.sender_id)
            await self.save_tracker(tracker)  # a new session started above is kept too
            if isinstance(message.output_channel, CollectingOutputChannel):
                return message.output_channel.messages
            return None

        async def parse_message(self, message: Any, tracker: Any = None,
                                only_output_properties: bool = True) -> Any:
            """Outside a form, a message that opens with "ok" or "thanks" is read
            without them when that reads better ("ok sounds good, sign me up"); a short
            message that alone would be declined is read again together with the
            patient's previous message of the session, on every channel; a contact
            field's answer that reads like "call me" stays the field's answer."""
            parse = await super().parse_message(message, tracker, only_output_properties)

            async def reparse(text: str) -> Any:
                return await super(ClinicMessageProcessor, self).parse_message(
                    UserMessage(text, sender_id=message.sender_id), None, only_output_properties)

            if tracker is None or not tracker.active_loop_name:
                parse = await without_acknowledgement(parse, reparse)
            if tracker is None:
                return parse
            parse = await with_context(parse, previous_user_text(tracker.events), reparse)
            return as_form_answer(parse, tracker.active_loop_name, tracker.get_slot("requested_slot"))

    return ClinicMessageProcessor


def clinic_processor() -> None:
    import rasa.core.agent

    if getattr(rasa.core.agent.MessageProcessor, "__name__", "") != "ClinicMessageProcessor":
        rasa.core.agent.MessageProcessor = _processor_class()


# --- cached_event_classes ---------------------------------------------------------------
def cached_event_classes() -> None:
    """Looks event classes up in a table instead of Rasa's walk of the whole Event
    class tree. The classes are all imported at start-up, so the answers are the same;
    unknown names still go to Rasa's own lookup."""
    from rasa.shared.core.events import Event

    if getattr(Event.resolve_by_type, "_clinic_cached", False):
        return
    original = Event.resolve_by_type
    table: dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        if type_name not in table:
            try:
                table[type_name] = original(type_name)
            except ValueError:
                return original(type_name, default)
        return table[type_name]

    resolve_by_type._clinic_cached = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)


# --- compiled_action_response_check -----------------------------------------------------
def compiled_action_response_check() -> None:
    """Checks action-server responses with a JSON-Schema validator built once; the
    response is still checked against the same schema, with the same error."""
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction._validate_action_result, "_clinic_compiled", False):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    original = RemoteAction._validate_action_result

    def _validate_action_result(self: Any, result: Any) -> bool:
        try:
            validator.validate(result)
        except ValidationError:
            return bool(original(self, result))  # Rasa's own path, for its error message
        return True

    _validate_action_result._clinic_compiled = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result


# --- sqlite_tuning -----------------------------------------------------------------------
def sqlite_tuning() -> None:
    from clinic_assistant.clinic.db import tune_sqlite_connections

    tune_sqlite_connections()


PATCHES: dict[str, Callable[[], None]] = {
    "action_safety_net": action_safety_net,
    "fail_loud_tracker_store": fail_loud_tracker_store,
    "clinic_processor": clinic_processor,
    "cached_event_classes": cached_event_classes,
    "compiled_action_response_check": compiled_action_response_check,
    "sqlite_tuning": sqlite_tuning,
}


def apply(installed: str | None = None) -> list[str]:
    """Checks the installed Rasa version, then applies every patch (once)."""
    if installed is None:
        import rasa

        installed = rasa.__version__
    problem = version_problem(installed)
    if problem:
        raise WrongRasaVersion(problem)
    for name, patch in PATCHES.items():
        patch()
        if name not in _applied:
            _applied.append(name)
    return applied()
