"""The website chat widget's channel: Rasa's socket.io channel, made dependable.

Same URL and events as Rasa's ``socketio`` channel (``/socket.io``, ``session_request``
→ ``session_confirm``, ``user_uttered`` → ``bot_uttered``), with these changes:

- **One event per reply.** Rasa splits a reply at blank lines and sends its ``custom``
  part separately; its ``send_custom_json`` even passes the JSON's keys to
  ``emit`` as arguments, so ``{"handoff": ...}`` or ``{"urgent": true}`` raised a
  TypeError. Here each reply is one ``bot_uttered`` with ``text``, ``quick_replies``
  and ``custom`` together, so the widget knows which text is urgent.
- **Server-issued conversations.** ``session_request`` carries the token the widget
  was given (``session_id``); the server answers ``session_confirm`` with that token
  if it signed it, else with a new one for a new conversation
  (clinic_assistant/clinic/identity.py: ids ``web:<128 random bits>``, tokens signed with
  ``CONVERSATION_ID_SECRET``). A conversation's history goes only to a valid token's
  holder, and ``user_uttered`` with a token the server did not issue is refused
  (``code: "session_invalid"``; the widget then asks for a new conversation).
- **The conversation starts when the widget asks for it.** A new session runs
  ``action_session_start`` at ``session_request``, so the first-contact line is on
  screen before the patient types, and a red flag typed first gets the emergency
  reply alone.
- **History.** For a session that already has messages, ``session_history`` lists
  them (from the tracker store, the conversation's record), so a reload or another
  page shows the same conversation.
- **Every message once.** ``user_uttered`` carries a client ``message_id``; the reply
  to its acknowledgement says whether it was handled, and a message sent again after
  a lost connection (same id) is not handled twice. The socket joins the session's
  room on every message, so replies reach it even if it reconnected a moment ago.
- **Checked input.** A malformed ``user_uttered`` is answered with ``{"ok": false,
  "error": reason}`` instead of an exception in the server log and silence.
- **Replicas.** With a Redis lock store (``LOCK_STORE_URL=redis://...``), the
  replicas also share socket.io rooms through that Redis, so a staff reply sent
  through one replica reaches a widget connected to another.
- **Allowed origins.** Only the configured website origins may connect
  (``allowed_origins`` in credentials.yml, or ``WIDGET_ORIGINS``, comma-separated).
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint

from clinic_assistant import limits
from clinic_assistant.clinic import identity
from clinic_assistant.channels.common import MessageIds, buttons_of
from clinic_assistant.settings import Settings

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = limits.MAX_CHANNEL_MESSAGE
MAX_ID_LENGTH = limits.MAX_SESSION_TOKEN
HISTORY_LIMIT = 100
DEFAULT_ORIGINS = Settings.from_env({}).widget.origins  # the default, written once in settings.py


def share_rooms_through_redis(sio: Any, url: Optional[str] = None) -> bool:
    """Lets every replica emit to every widget connection (python-socketio's Redis
    client manager) when the lock store is Redis; one process needs nothing."""
    url = url if url is not None else Settings.from_env().redis.lock_store_url
    if not url.startswith(("redis://", "rediss://")):
        return False
    import socketio

    manager = socketio.AsyncRedisManager(url, channel="clinic-widget")
    manager.set_server(sio)
    sio.manager, sio.manager_initialized = manager, False
    return True


def widget_message(message: dict[str, Any]) -> dict[str, Any]:
    """One bot reply as the widget shows it: text, quick replies, custom data."""
    out: dict[str, Any] = {}
    text = message.get("text")
    if isinstance(text, str) and text:
        out["text"] = text
    replies = buttons_of(message)
    if replies:
        out["quick_replies"] = replies
    custom = message.get("custom")
    if isinstance(custom, dict) and custom:
        out["custom"] = custom
    return out


def history_messages(events: list[Any], limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The patient's and the bot's messages of a conversation, oldest first (at most
    ``limit``, the newest). A button the patient chose shows as its title, as it did
    when it was clicked."""
    messages: list[dict[str, Any]] = []
    titles: dict[str, str] = {}
    for event in events:
        if isinstance(event, BotUttered):
            shown = widget_message({"text": event.text, **(event.data or {})})
            titles = {reply["payload"]: reply["title"] for reply in shown.get("quick_replies", [])}
            if shown:
                messages.append({"sender": "bot", "time": event.timestamp, **shown})
        elif isinstance(event, UserUttered) and event.text is not None:
            text = titles.get(event.text, event.text)
            item = {"sender": "user", "time": event.timestamp, "text": text}
            if event.message_id:
                item["id"] = event.message_id  # lets the widget tell which messages arrived
            messages.append(item)
            titles = {}
    return messages[-limit:]


def message_problem(data: Any) -> Optional[str]:
    """Why a ``user_uttered`` event cannot be handled; None if it can."""
    if not isinstance(data, dict):
        return "the event data must be an object with 'message' and 'session_id'"
    session_id = data.get("session_id")
    if not isinstance(session_id, str) or not session_id.strip():
        return "'session_id' must be the token from 'session_confirm'"
    if len(session_id) > MAX_ID_LENGTH:
        return f"'session_id' must be at most {MAX_ID_LENGTH} characters"
    message = data.get("message")
    if not isinstance(message, str):
        return "'message' must be a string"
    if len(message) > MAX_MESSAGE_LENGTH:
        return f"'message' must be at most {MAX_MESSAGE_LENGTH} characters"
    message_id = data.get("message_id")
    if message_id is not None and (
        not isinstance(message_id, str) or not message_id or len(message_id) > limits.MAX_MESSAGE_ID
    ):
        return f"'message_id' must be a string of at most {limits.MAX_MESSAGE_ID} characters"
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "'metadata' must be an object"
    return None


class ClinicSocketIOOutput(SocketIOOutput):
    """Sends each reply as one ``bot_uttered`` event."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        shown = widget_message(message)
        if shown:
            await self._send_message(recipient_id, shown)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class ClinicSocketIOInput(SocketIOInput):
    """The widget's socket.io channel (name ``socketio``; see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> "ClinicSocketIOInput":
        credentials = credentials or {}
        channel = cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            True,  # the widget always keeps its conversation across pages
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
        )
        # WIDGET_ORIGINS, when set, wins over credentials.yml
        from_env = Settings.from_env().widget.origins if Settings.is_set("WIDGET_ORIGINS") else ()
        origins = list(from_env or credentials.get("allowed_origins") or DEFAULT_ORIGINS)
        channel.allowed_origins = origins
        return channel

    allowed_origins: list[str] = list(DEFAULT_ORIGINS)

    def get_output_channel(self) -> Optional[ClinicSocketIOOutput]:
        if self.sio is None:
            return None
        return ClinicSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None
        # Only the clinic's website may open a connection (checked by engine.io for
        # both its transports; the CORS headers for polling come from the same list).
        sio.eio.cors_allowed_origins = list(self.allowed_origins)
        share_rooms_through_redis(sio)
        message_ids = MessageIds()

        async def join(sid: str, conversation_id: str) -> None:
            # a coroutine since python-socketio 5.10 (Rasa's own channel forgets to await it)
            await sio.enter_room(sid, conversation_id)

        app_holder: dict[str, Any] = {}

        @blueprint.listener("before_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            app_holder["app"] = app

        def agent() -> Any:
            app = app_holder.get("app")
            return getattr(app.ctx, "agent", None) if app is not None else None

        async def start_or_resume(sid: str, session_id: str) -> None:
            """Starts a new conversation (the first-contact line) or sends the history."""
            current = agent()
            if current is None or not current.is_ready():
                return
            output = ClinicSocketIOOutput(sio, self.bot_message_evt)
            async with current.lock_store.lock(session_id):
                tracker = await current.tracker_store.retrieve_full_tracker(session_id)
                if tracker is not None and tracker.events:
                    history = history_messages(list(tracker.events))
                    await sio.emit("session_history", {"messages": history}, room=sid)
                    return
                tracker = await current.processor.fetch_tracker_with_initial_session(
                    session_id, output, {}
                )
                await current.processor.save_tracker(tracker)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            token = data.get("session_id") if isinstance(data, dict) else None
            conversation_id = identity.web_conversation(token)
            if conversation_id is None:  # none, or not issued by this server: a new one
                conversation_id, token = identity.new_web_conversation()
            # "start over" on the same connection: the old conversation's replies (from
            # staff, later) must not show here any more
            for room in sio.rooms(sid, namespace=self.namespace):
                if room not in (sid, conversation_id):
                    await sio.leave_room(sid, room, namespace=self.namespace)
            await join(sid, conversation_id)
            try:
                await start_or_resume(sid, conversation_id)
            except Exception:  # the patient can still type; the message path has its own safety net
                logger.exception("Could not start or resume conversation %s", conversation_id)
            await sio.emit("session_confirm", token, room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> dict[str, Any]:
            problem = message_problem(data)
            if problem is not None:
                logger.info("Rejected a widget message from %s: %s", sid, problem)
                return {"ok": False, "error": problem}
            session_id = identity.web_conversation(data["session_id"])
            if session_id is None:
                return {"ok": False, "code": "session_invalid",
                        "error": "this conversation token was not issued by the clinic's server; "
                                 "ask for a new conversation (session_request)"}
            message_id = data.get("message_id") or uuid.uuid4().hex
            await join(sid, session_id)
            if not message_ids.claim(session_id, message_id):
                return {"ok": True, "duplicate": True, "message_id": message_id}
            output = ClinicSocketIOOutput(sio, self.bot_message_evt)
            message = UserMessage(
                data["message"],
                output,
                session_id,
                input_channel=self.name(),
                message_id=message_id,
                metadata=data.get("metadata") or {},
            )
            try:
                await on_new_message(message)
            except Exception:
                message_ids.release(session_id, message_id)
                logger.exception("Could not handle widget message %s", message_id)
                return {"ok": False, "error": "the message could not be handled; send it again"}
            if getattr(output, "replayed", False):  # already in the conversation (another replica)
                return {"ok": True, "duplicate": True, "message_id": message_id}
            return {"ok": True, "message_id": message_id}

        return blueprint
