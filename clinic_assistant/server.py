"""Runs the Rasa server (``rasa run``) with a safety net around custom actions.

    python -m clinic_assistant.server --model models/clinic.tar.gz --port 5005 ...

Takes the same arguments as ``rasa run``. Rasa 3.6 waits up to five minutes for the
action server and, when a custom action fails, logs the error and sends the patient
nothing. With this entry point a custom action that fails or takes longer than
``ACTION_TIMEOUT_SECONDS`` (default 1.5) is answered with a short apology and the
clinic's phone number instead; a failed ``action_session_start`` also still starts
the session with the clinic's facts (from the same shared code the action server
uses), so later replies never show empty placeholders.

It also removes two per-turn costs of Rasa 3.6 that profiling showed (an uncached
event-class lookup and a JSON-Schema metaschema check on every action response;
see cache_event_classes and compile_action_response_check), and puts SQLite
tracker stores in WAL mode (clinic_assistant.db), and imports skops before Rasa
imports TensorFlow, which makes the cold start about 4 s shorter.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any, List

from clinic_assistant.profile import current_profile
from clinic_assistant.session import action_failed_text, session_start_events
from clinic_assistant.settings import Settings

logger = logging.getLogger(__name__)
DEFAULT_ACTION_TIMEOUT = 1.5
_original_run: Any = None


def action_timeout() -> float:
    try:
        return float(os.environ.get("ACTION_TIMEOUT_SECONDS", DEFAULT_ACTION_TIMEOUT))
    except ValueError:
        return DEFAULT_ACTION_TIMEOUT


def fallback_events(action_name: str) -> List[Any]:
    """The events that stand in for a custom action that failed."""
    from rasa.shared.core.events import BotUttered, Event

    profile = current_profile(Settings.from_env().clinic_profile_path)
    events: List[Any] = [
        BotUttered(
            text=action_failed_text(profile),
            metadata={"utter_action": "action_failed", "failed_action": action_name},
        )
    ]
    if action_name == "action_session_start":
        events += [Event.from_parameters(e) for e in session_start_events(profile)]
    return events


async def _run_with_safety_net(
    self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> List[Any]:
    from rasa.core.actions.action import ActionExecutionRejection

    try:
        return await asyncio.wait_for(
            _original_run(self, output_channel, nlg, tracker, domain), action_timeout()
        )
    except ActionExecutionRejection:
        raise  # a form's normal way of saying "not this one"
    except (Exception, asyncio.TimeoutError) as error:
        logger.error(
            "Custom action '%s' failed for conversation %s (%s: %s); "
            "the patient was sent the apology with the clinic phone.",
            self.name(), tracker.sender_id, type(error).__name__, error,
        )
        return fallback_events(self.name())


def install_action_safety_net() -> None:
    """Wraps Rasa's RemoteAction.run (once) with the timeout and the apology."""
    global _original_run
    from rasa.core.actions.action import RemoteAction

    if _original_run is None:
        _original_run = RemoteAction.run
        RemoteAction.run = _run_with_safety_net  # type: ignore[method-assign]


def cache_event_classes() -> None:
    """Looks event classes up in a table instead of Rasa's walk of the whole Event
    class tree, which Rasa 3.6 repeats for every stored event on every turn (a third
    of a turn's time in our profile). The classes are all imported at start-up, so
    the answers are the same; unknown names still go to Rasa's own lookup."""
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
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def compile_action_response_check() -> None:
    """Checks action-server responses with a JSON-Schema validator built once.

    Rasa 3.6 calls ``jsonschema.validate(result, schema)`` for every custom action,
    and that function first checks the schema itself against the JSON-Schema
    metaschema, every time: about 27 ms of each custom action's turn here. The
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
            return original(self, result)  # Rasa's own path, for its error message
        return True

    _validate_action_result._clinic_compiled = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


class TrackerStoreUnavailable(Exception):
    """The conversations' database could not be read or written: the turn fails."""


def _raise_tracker_store_error(error: Exception) -> None:
    raise TrackerStoreUnavailable(f"the conversation store failed: {error}") from error


def fail_loudly_on_tracker_store_errors() -> None:
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

    Agent._create_tracker_store = staticmethod(create_tracker_store)  # type: ignore[method-assign]


def answer_repeated_messages_from_the_record() -> None:
    """A message whose ``message_id`` is already in the conversation is not handled
    again: its stored replies go to the channel, marked ``replayed``.

    A client that lost an answer (a replica killed mid-turn, a time-out, a webhook
    delivered again) sends the same message again, maybe to another replica. The
    check runs in the processor, on the conversation it has just loaded and under the
    conversation's lock, so it costs no extra read and two copies arriving at once
    are still handled once. An output channel with an ``under_lock`` coroutine has it
    called with the conversation id just before the turn is saved, still under the
    lock. The rest is Rasa 3.6's ``MessageProcessor.handle_message``.
    """
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.processor import MessageProcessor
    from rasa.shared.data import TrainingType

    from clinic_assistant.channels.common import replies_after

    async def handle_message(self: Any, message: Any) -> Any:
        tracker = await self.fetch_tracker_and_update_session(
            message.sender_id, message.output_channel, message.metadata
        )
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

    MessageProcessor.handle_message = handle_message  # type: ignore[method-assign]


def read_follow_ups_with_context() -> None:
    """A short message the classifier is unsure of is read again together with the
    patient's previous message of the session (clinic_assistant/context.py), on
    every channel: Rasa's processor parses each message on its own."""
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    from clinic_assistant.context import previous_user_text, with_context

    original = MessageProcessor.parse_message

    async def parse_message(self: Any, message: Any, tracker: Any = None,
                            only_output_properties: bool = True) -> Any:
        parse = await original(self, message, tracker, only_output_properties)
        if tracker is None:
            return parse

        async def reparse(text: str) -> Any:
            return await original(self, UserMessage(text, sender_id=message.sender_id), None,
                                  only_output_properties)

        return await with_context(parse, previous_user_text(tracker.events), reparse)

    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]


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
    problem = staff_token_problem(env.get("STAFF_API_TOKEN", "").strip())
    if problem:
        raise UnsafeSettings(problem)
    token, jwt_secret = env.get("RASA_API_TOKEN", "").strip(), env.get("RASA_JWT_SECRET", "").strip()
    if token:
        args += ["--enable-api", "--auth-token", token]
    if jwt_secret:
        args += ["--enable-api", "--jwt-secret", jwt_secret, "--jwt-method", env.get("RASA_JWT_METHOD", "HS256")]
    has_auth = any(a in args for a in ("-t", "--auth-token", "--jwt-secret", "--jwt-private-key"))
    if "--enable-api" in args and not has_auth:
        raise UnsafeSettings(
            "error: the Rasa HTTP API is on without a token: set RASA_API_TOKEN (or RASA_JWT_SECRET),"
            " or leave --enable-api out"
        )
    for name in (token, jwt_secret):
        if name and len(name) < 24:
            raise UnsafeSettings("error: RASA_API_TOKEN / RASA_JWT_SECRET must be at least 24 characters")
    origins = [o.strip() for o in env.get("RASA_CORS_ORIGINS", "").split(",") if o.strip()]
    if "*" in origins:
        raise UnsafeSettings("error: RASA_CORS_ORIGINS must list the origins; '*' would let any website call the bot")
    if origins:
        args += ["--cors", *origins]
    return args


def main() -> None:
    args = security_arguments(sys.argv[1:], os.environ)
    from clinic_assistant import identity

    try:  # conversation ids are keyed with it (clinic_assistant/identity.py)
        identity.check_secret()
    except identity.MissingSecret as error:
        raise UnsafeSettings(f"error: {error}") from None
    import_skops_before_tensorflow()
    from clinic_assistant.db import tune_sqlite_connections

    install_action_safety_net()
    fail_loudly_on_tracker_store_errors()
    answer_repeated_messages_from_the_record()
    read_follow_ups_with_context()
    cache_event_classes()
    compile_action_response_check()
    tune_sqlite_connections()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "run", *args]
    rasa_main()


if __name__ == "__main__":
    main()
