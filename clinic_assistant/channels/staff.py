"""Clinic staff speaking in a patient's conversation (used by the staff console).

    POST /webhooks/staff/reply      {"conversation_id": ..., "text": ..., "staff_name": ...}
    POST /webhooks/staff/hand_back  {"conversation_id": ..., "staff_name": ...}
    POST /webhooks/staff/forget     {"conversation_ids": [...], "staff_name": ...}
    GET  /webhooks/staff/model      the model this server answers with
    POST /webhooks/staff/model      {"model_file": ...}: answer with this model from now on

Both need ``Authorization: Bearer <STAFF_API_TOKEN>``; without the variable set on the
Rasa server they answer 503. Instead of opening Rasa's whole HTTP API, this small
channel does the two things staff need, under the conversation's lock:

- **reply**: the staff member's message is added to the conversation (a bot message
  marked ``from_staff``) and sent through the channel the conversation's id names
  (``web:`` → the widget, ``sms:`` → Twilio SMS to the conversation's kept number, …;
  clinic_assistant/clinic/identity.py), if that channel can send later (a REST client
  cannot, and the answer says so). From then on the bot stays silent while staff have the
  conversation (slot ``handoff_with_staff``, see HandoffPolicy), except for red flags.
- **hand_back**: ends the handoff; the patient is told (``utter_handoff_returned``)
  and the bot answers again.
- **forget**: deletes conversations everywhere (clinic_assistant/clinic/forget.py), each
  under its lock, so a turn in progress cannot write a forgotten conversation back.
  The lock store of one Rasa process is in its memory, which is why the staff
  console and ``python -m staff forget`` ask this server to do it.
- **model**: the background trainer (clinic_assistant/training/) has the server answer
  with a model that teaches staff's new topics and wordings. Only a model file in
  ``CONSOLE_MODELS_DIR`` is loaded. It is loaded in a worker thread beside the running
  one, which keeps answering; then new turns go to the new model, while turns already
  under way finish on the old one (the conversations and their locks are shared, so
  nothing is dropped or answered twice).
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, SlotSet
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_assistant import limits
from clinic_assistant.clinic import identity
from clinic_assistant.channels.common import json_body
from clinic_assistant.clinic.db import contact_of, engine_for
from clinic_assistant.settings import Settings

logger = logging.getLogger(__name__)

MAX_REPLY_LENGTH = limits.MAX_STAFF_REPLY
MAX_NAME_LENGTH = 80
MAX_FORGET = 500  # conversations per request
RETURNED_RESPONSE = "utter_handoff_returned"
_swapping = asyncio.Lock()  # one model load at a time


def model_file_problem(body: Any) -> Optional[str]:
    """Why a model load request cannot be followed (None: it can)."""
    given = body.get("model_file") if isinstance(body, dict) else None
    if not isinstance(given, str) or not given.endswith(".tar.gz"):
        return "'model_file' must name a trained model (.tar.gz)"
    folder = Path(Settings.from_env().training.models_dir).resolve()
    path = Path(given).resolve()
    if folder not in path.parents:
        return f"only models in {folder} (CONSOLE_MODELS_DIR) are loaded"
    if not path.is_file():
        return f"there is no model file {path}"
    return None


RELEASE_AFTER_SECONDS = 120.0  # turns under way on the old model have long finished by then


def release_later(old_agent: Any) -> None:
    """Closes the replaced agent's database connections once its last turns are over
    (each agent has its own tracker store engine; PostgreSQL counts connections)."""
    inner = getattr(getattr(old_agent, "tracker_store", None), "_tracker_store", None)
    engine = getattr(inner, "engine", None)
    if engine is not None:
        asyncio.get_running_loop().call_later(RELEASE_AFTER_SECONDS, engine.dispose)


def load_agent_beside(model_file: str, old_agent: Any) -> Any:
    """A new agent for ``model_file`` with the server's endpoints (run in a worker
    thread), sharing the running agent's lock store."""
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    from clinic_assistant.rasa import server

    endpoints = AvailableEndpoints.read_endpoints(server.ENDPOINTS_FILE)
    agent = asyncio.run(load_agent(model_path=model_file, endpoints=endpoints))
    if not agent.is_ready():
        raise RuntimeError(f"the model {model_file} could not be loaded")
    if old_agent is not None:
        agent.lock_store = old_agent.lock_store
    use_model_responses = getattr(agent.nlg, "use_model_responses", None)
    if use_model_responses is not None and agent.domain is not None:
        use_model_responses(dict(agent.domain.responses))
    return agent


def staff_reply_message(text: str, staff_name: str) -> dict[str, Any]:
    """A staff reply as channels send it (the widget shows it as from clinic staff)."""
    return {
        "text": text,
        "custom": {"from_staff": {"name": staff_name}, "handoff": {"status": "with_staff"}},
    }


def request_problem(body: Any, needs_text: bool) -> Optional[str]:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        return "'conversation_id' must be a non-empty string"
    name = body.get("staff_name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        return f"'staff_name' must be a non-empty string of at most {MAX_NAME_LENGTH} characters"
    if needs_text:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return "'text' must be a non-empty string"
        if len(text) > MAX_REPLY_LENGTH:
            return f"'text' must be at most {MAX_REPLY_LENGTH} characters"
    return None


def output_channel_for(app: Any, channel_name: Optional[str]) -> Optional[OutputChannel]:
    """The output channel of an input channel, if it can send a message outside a
    request (socket.io, messaging apps; not REST)."""
    for channel in getattr(app.ctx, "input_channels", None) or []:
        if channel.name() == channel_name:
            return channel.get_output_channel()
    return None


def recipient_of(conversation_id: str) -> Optional[str]:
    """Where a conversation's messages go: the widget's room is the conversation id;
    a messaging conversation goes to its kept number or Messenger id."""
    kind = identity.kind_of(conversation_id)
    if kind == "web":
        return conversation_id
    if kind in identity.ADDRESS_KINDS:
        return contact_of(engine_for(Settings.from_env().database.url), conversation_id)
    return None


class StaffInput(InputChannel):
    """Staff replies and hand-backs (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "staff"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> "StaffInput":
        return cls()

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = Blueprint("staff_webhook", __name__)

        def refused(request: Request) -> Optional[HTTPResponse]:
            token = Settings.from_env().staff.api_token
            if not token:
                return response.json(
                    {"error": "staff replies are not configured on this server (STAFF_API_TOKEN)"},
                    status=503,
                )
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return response.json({"error": "a valid staff token is required"}, status=401)
            return None

        async def in_conversation(
            request: Request, needs_text: bool,
            change: Callable[[Request, Any, Optional[OutputChannel], dict[str, Any]],
                             Awaitable[list[Any]]],
        ) -> HTTPResponse:
            problem = refused(request)
            if problem is not None:
                return problem
            body = json_body(request)
            reason = request_problem(body, needs_text)
            if reason is not None:
                return response.json({"error": reason}, status=400)
            agent = request.app.ctx.agent
            conversation_id = body["conversation_id"]
            async with agent.lock_store.lock(conversation_id):
                tracker = await agent.tracker_store.retrieve(conversation_id)
                if tracker is None or not tracker.events:
                    return response.json({"error": "no such conversation"}, status=404)
                channel_name = identity.channel_of(conversation_id)
                recipient = recipient_of(conversation_id)
                output = output_channel_for(request.app, channel_name) if recipient else None
                events = await change(request, tracker, output, body)
                for event in events:
                    tracker.update(event)
                await agent.tracker_store.save(tracker)
            delivered = output is not None
            if output is not None:
                messages = [e for e in events if isinstance(e, BotUttered)]
                try:
                    for event in messages:
                        await output.send_response(recipient, event.message())
                except Exception:  # the message is on record; the patient sees it on reconnect
                    logger.exception("Could not deliver a staff message to %s", conversation_id)
                    delivered = False
            return response.json(
                {"ok": True, "channel": channel_name, "delivered": delivered}
            )

        async def reply_events(
            request: Request, tracker: Any, output: Any, body: dict[str, Any]
        ) -> list[Any]:
            name = body["staff_name"].strip()
            message = staff_reply_message(body["text"].strip(), name)
            return [
                SlotSet("handoff_active", True),
                SlotSet("handoff_with_staff", True),
                BotUttered(message["text"], {"custom": message["custom"]}, {"staff": name}),
            ]

        async def hand_back_events(
            request: Request, tracker: Any, output: Any, body: dict[str, Any]
        ) -> list[Any]:
            rendered = await request.app.ctx.agent.nlg.generate(
                RETURNED_RESPONSE, tracker, output.name() if output else "collector"
            ) or {}
            custom = {**(rendered.get("custom") or {}), "handoff": {"status": "returned"}}
            return [
                SlotSet("handoff_active", False),
                SlotSet("handoff_with_staff", False),
                BotUttered(rendered.get("text"), {"custom": custom},
                           {"staff": body["staff_name"].strip()}),
            ]

        async def guarded(request: Request, needs_text: bool, change: Any) -> HTTPResponse:
            try:
                return await in_conversation(request, needs_text, change)
            except Exception:  # database or lock store down: staff must know it did not go
                logger.exception("Could not record a staff message")
                return response.json({"error": "the message could not be recorded right now; try again"},
                                     status=503)

        @blueprint.route("/reply", methods=["POST"])
        async def reply(request: Request) -> HTTPResponse:
            return await guarded(request, True, reply_events)

        @blueprint.route("/hand_back", methods=["POST"])
        async def hand_back(request: Request) -> HTTPResponse:
            return await guarded(request, False, hand_back_events)

        @blueprint.route("/forget", methods=["POST"])
        async def forget(request: Request) -> HTTPResponse:
            from clinic_assistant.clinic.forget import forget_under_locks

            problem = refused(request)
            if problem is not None:
                return problem
            body = json_body(request)
            ids = body.get("conversation_ids") if isinstance(body, dict) else None
            if (not isinstance(ids, list) or not ids or len(ids) > MAX_FORGET
                    or not all(isinstance(i, str) and 0 < len(i) <= 255 for i in ids)):
                return response.json({"error": f"'conversation_ids' must be a list of 1 to {MAX_FORGET} ids"},
                                     status=400)
            agent = request.app.ctx.agent
            try:
                deleted = await forget_under_locks(
                    agent.lock_store, engine_for(Settings.from_env().database.url), ids,
                    actor=str(body.get("staff_name") or "staff channel"))
            except Exception:
                logger.exception("Could not forget conversations")
                return response.json({"error": "the conversations could not be deleted right now; try again"},
                                     status=503)
            return response.json({"ok": True, "deleted": deleted})

        @blueprint.route("/model", methods=["GET", "POST"])  # type: ignore[misc]
        async def model(request: Request) -> HTTPResponse:
            problem = refused(request)
            if problem is not None:
                return problem
            agent = request.app.ctx.agent
            if request.method == "GET":
                processor = getattr(agent, "processor", None)
                return response.json({"model_file": str(Path(processor.model_path).resolve()) if processor else None,
                                      "model_id": agent.model_id if agent else None})
            body = json_body(request)
            reason = model_file_problem(body)
            if reason is not None or not isinstance(body, dict):
                return response.json({"error": reason}, status=400)
            model_file = str(Path(body["model_file"]).resolve())
            started = time.monotonic()
            async with _swapping:
                try:
                    new_agent = await asyncio.to_thread(load_agent_beside, model_file, request.app.ctx.agent)
                except Exception as error:  # the running model keeps answering
                    logger.exception("Could not load the model %s", model_file)
                    return response.json({"error": f"the model could not be loaded: {error}"}, status=422)
                old_agent, request.app.ctx.agent = request.app.ctx.agent, new_agent
                release_later(old_agent)
            seconds = round(time.monotonic() - started, 2)
            logger.info("Now answering with the model %s (loaded in %.1f s)", model_file, seconds)
            return response.json({"ok": True, "model_file": model_file, "seconds": seconds})

        return blueprint
