"""SMS and WhatsApp through Twilio, and Facebook Messenger.

Rasa's own connectors, extended where the clinic needs more than they do:

- **Signed webhooks only.** Twilio's ``X-Twilio-Signature`` (checked with the twilio
  library's RequestValidator) and Messenger's ``X-Hub-Signature-256`` (HMAC-SHA256
  with the app secret). An unsigned or wrongly signed request gets 403, is logged,
  and never reaches the bot. (Rasa's Facebook connector checks the older SHA-1
  header, answers a bad signature with 200, and handles only the first message of a
  batch; its Twilio connector checks nothing.)
- **Plain text that fits** (plain_text.py): numbered options for buttons, a reply
  of "1", "2"… picks one, long answers split at sentence boundaries within each
  platform's limit, no JSON sent to a phone.
- **Urgent first, then send.** A turn's replies are collected, ordered with an urgent
  reply first, then sent; the patient's message is in the conversation's record
  before anything is sent, so a platform error loses nothing from the log (it is
  logged with the conversation id).
- **Each message once.** Twilio's MessageSid and Messenger's message id are the
  message ids; a webhook delivered twice is handled once. Handled ids are kept in the
  database (``seen_webhooks``), shared by every replica and kept across restarts, so a
  signed webhook replayed later (even after its conversation was forgotten) is
  acknowledged and not handled again; a Messenger event older than Meta's retry
  period (``MESSENGER_MAX_EVENT_AGE_HOURS``, 36 by default) is acknowledged and
  dropped. Twilio's requests carry no time, so for them the kept ids are the check
  (``WEBHOOK_IDS_KEPT_DAYS``, 90 by default).
- **The phone number is not the conversation id.** The conversation id is a keyed
  hash of the number or Messenger id (``sms:…``, ``whatsapp:…``, ``messenger:…``;
  clinic_assistant/clinic/identity.py); the number is kept as the conversation's contact.
- **Settings from the environment only** (no secret in credentials.yml); a channel
  whose settings are missing answers 503 and says which.

Webhook URLs: /webhooks/twilio/webhook (SMS), /webhooks/whatsapp/webhook,
/webhooks/facebook/webhook.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Optional

import sqlalchemy as sa

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import ServiceUnavailable
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_assistant.clinic import identity
from clinic_assistant.channels.common import MessageIds, buttons_of, json_body, urgent_first
from clinic_assistant.channels.plain_text import NUMBER_REPLY, chosen_payload, reply_text, split_text
from clinic_assistant.clinic.db import engine_for, remember_contact, seen_webhooks
from clinic_assistant.settings import Settings

logger = logging.getLogger(__name__)

TWILIO_BODY_LIMIT = 1600  # characters, SMS and WhatsApp through Twilio
MESSENGER_TEXT_LIMIT = 2000
MESSENGER_QUICK_REPLIES = 13
SEND_TIMEOUT_SECONDS = 10
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class PlainTextOutput(OutputChannel):
    """Sends each reply as plain text parts through ``deliver``."""

    limit = TWILIO_BODY_LIMIT

    async def deliver(self, recipient_id: str, text: str, option_payloads: list[str]) -> None:
        raise NotImplementedError

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        parts = split_text(reply_text(message), self.limit)
        payloads = [b["payload"] for b in buttons_of(message)]
        for number, part in enumerate(parts, start=1):
            await self.deliver(recipient_id, part, payloads if number == len(parts) else [])

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


def _engine() -> sa.engine.Engine:
    return engine_for(Settings.from_env().database.url)


class SeenWebhooks:
    """Message ids of handled webhooks, in the database shared by every replica."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._last_cleanup = 0.0

    def seen(self, message_id: str) -> bool:
        with _engine().connect() as conn:
            return conn.execute(sa.select(seen_webhooks.c.message_id).where(
                seen_webhooks.c.channel == self.channel,
                seen_webhooks.c.message_id == message_id[:255])).first() is not None

    def add(self, message_id: str) -> None:
        """Notes a handled id. Best effort: the turn is already stored, and a copy
        delivered again while its conversation exists is caught by the record anyway,
        so a database error here must not cost the patient the replies."""
        now = datetime.now(timezone.utc)
        try:
            with _engine().begin() as conn:
                try:
                    with conn.begin_nested():
                        conn.execute(seen_webhooks.insert().values(
                            channel=self.channel, message_id=message_id[:255], seen_at=now))
                except sa.exc.IntegrityError:  # another replica handled a copy at the same time
                    pass
                if time.monotonic() - self._last_cleanup > 3600:  # hourly: forget old ids
                    self._last_cleanup = time.monotonic()
                    kept = timedelta(days=Settings.from_env().limits.webhook_ids_kept_days)
                    conn.execute(seen_webhooks.delete().where(seen_webhooks.c.seen_at < now - kept))
        except Exception:
            logger.warning("Could not note %s webhook %s as handled", self.channel, message_id,
                           exc_info=True)


class ContactKeeper(OutputChannel):
    """Collects a turn's replies and, under the conversation's lock just before the
    turn is saved (clinic_assistant/rasa/patches.py calls ``under_lock``), keeps the address
    replies go to. Under the lock, a forget cannot slip in between: the contact is
    written only with a stored turn, and never after the conversation was deleted."""

    def __init__(self, channel: str, address: str) -> None:
        self.channel, self.address = channel, address
        self.messages: list[dict[str, Any]] = []

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.messages.append(dict(message))

    async def under_lock(self, conversation_id: str) -> None:
        await asyncio.to_thread(remember_contact, _engine(), conversation_id, self.channel, self.address)


class MessagingInput(InputChannel):
    """What the three messaging channels share: the turn, options, ordering, sending."""

    def __init__(self) -> None:
        self.message_ids = MessageIds()
        self.seen_webhooks = SeenWebhooks(self.name())

    def conversation_of(self, address: str) -> str:
        """The conversation id of a sender's number or Messenger id."""
        return identity.address_conversation(identity.KIND_OF_CHANNEL[self.name()], address)


    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> "MessagingInput":
        return cls()

    def settings(self) -> dict[str, str]:
        """The channel's required settings by variable name (for "set ..." messages)."""
        return self.required(Settings.from_env())

    def required(self, settings: Settings) -> dict[str, str]:
        raise NotImplementedError

    def missing(self) -> Optional[HTTPResponse]:
        absent = [name for name, value in self.settings().items() if not value]
        if absent:
            return response.json(
                {"error": f"the {self.name()} channel is not configured: set {', '.join(absent)}"},
                status=503,
            )
        return None

    def refuse(self, request: Request, why: str) -> HTTPResponse:
        logger.warning("Rejected a %s webhook from %s: %s", self.name(), request.ip, why)
        return response.json({"error": "invalid signature"}, status=403)

    async def handle_turn(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]],
        address: str, text: str, message_id: str, metadata: Optional[dict[str, Any]] = None,
    ) -> None:
        """One patient message from ``address`` (phone number or Messenger id)."""
        sender_id = self.conversation_of(address)
        if message_id and not self.message_ids.claim(sender_id, message_id):
            logger.info("Skipped %s message %s: already handled", self.name(), message_id)
            return
        collector = ContactKeeper(self.name(), address)
        try:
            if message_id and await asyncio.to_thread(self.seen_webhooks.seen, message_id):
                logger.info("Skipped %s message %s: handled before (a replayed or re-delivered "
                            "webhook)", self.name(), message_id)
                return
            payload = None
            if NUMBER_REPLY.match(text):  # only then is the conversation's record needed here
                tracker = await request.app.ctx.agent.tracker_store.retrieve(sender_id)
                payload = chosen_payload(text, tracker.events if tracker else [])
            await on_new_message(UserMessage(
                payload or text, collector, sender_id, input_channel=self.name(),
                message_id=message_id or None, metadata=metadata,
            ))
        except Exception as error:
            if message_id:
                self.message_ids.release(sender_id, message_id)
            logger.exception("Could not handle %s message %s of %s", self.name(), message_id, sender_id)
            # 503, not 500: the platform may deliver the webhook again
            raise ServiceUnavailable("the message could not be handled right now") from error
        if message_id:
            await asyncio.to_thread(self.seen_webhooks.add, message_id)
        if getattr(collector, "replayed", False):
            # delivered again (maybe to another replica) after it was handled: the
            # patient already has the replies
            logger.info("Skipped %s message %s: already in the conversation", self.name(), message_id)
            return
        output = self.get_output_channel()
        for message in urgent_first(collector.messages):
            try:
                await output.send_response(address, message)
            except Exception as error:  # the patient's message and the replies are on record
                logger.error("Could not send a %s reply to conversation %s: %s",
                             self.name(), sender_id, error)


# --- Twilio: SMS and WhatsApp --------------------------------------------------------
class TwilioTextOutput(PlainTextOutput):
    limit = TWILIO_BODY_LIMIT

    def __init__(self, channel: str, account_sid: str, auth_token: str, from_number: str,
                 api_base_url: str = "") -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.channel = channel
        self.client = Client(account_sid, auth_token,
                             http_client=TwilioHttpClient(timeout=SEND_TIMEOUT_SECONDS))
        if api_base_url:  # a proxy, or the tests' loopback fake of Twilio's API
            self.client.api.base_url = api_base_url.rstrip("/")
        self.from_number = from_number

    @classmethod
    def name(cls) -> str:
        return "twilio"

    async def deliver(self, recipient_id: str, text: str, option_payloads: list[str]) -> None:
        await asyncio.to_thread(
            self.client.messages.create, to=recipient_id, from_=self.from_number, body=text)


class TwilioSmsInput(MessagingInput):
    """SMS through Twilio: POST /webhooks/twilio/webhook."""

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def number(self, settings: Settings) -> dict[str, str]:
        return {"TWILIO_SMS_NUMBER": settings.twilio.sms_number}

    def required(self, settings: Settings) -> dict[str, str]:
        twilio = settings.twilio
        return {"TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
                **self.number(settings)}

    def get_output_channel(self) -> Optional[OutputChannel]:
        settings = Settings.from_env()
        if not all(self.required(settings).values()):
            return None
        (number,) = self.number(settings).values()
        twilio = settings.twilio
        return TwilioTextOutput(self.name(), twilio.account_sid, twilio.auth_token, number,
                                twilio.api_base_url)

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: the public one when behind a proxy."""
        public = Settings.from_env().twilio.webhook_base_url.rstrip("/")
        if not public:
            return request.url
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{public}{request.path}{query}"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        from twilio.request_validator import RequestValidator

        blueprint = Blueprint(f"{self.name()}_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            unconfigured = self.missing()
            if unconfigured is not None:
                return unconfigured
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature:
                return self.refuse(request, "no X-Twilio-Signature")
            params = {key: values[0] for key, values in (request.form or {}).items()}
            validator = RequestValidator(self.settings()["TWILIO_AUTH_TOKEN"])
            if not validator.validate(self.signed_url(request), params, signature):
                return self.refuse(request, "wrong X-Twilio-Signature")
            sender, text = params.get("From", ""), params.get("Body")
            if not sender or text is None:
                return response.json({"error": "'From' and 'Body' are required"}, status=400)
            await self.handle_turn(request, on_new_message, sender, text.replace("¡", "@"),
                                   params.get("MessageSid", ""))
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return blueprint


class TwilioWhatsAppInput(TwilioSmsInput):
    """WhatsApp through Twilio: POST /webhooks/whatsapp/webhook. Numbers are written
    whatsapp:+1…; the conversation is apart from the same person's SMS."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def number(self, settings: Settings) -> dict[str, str]:
        return {"TWILIO_WHATSAPP_NUMBER": settings.twilio.whatsapp_number}


# --- Facebook Messenger --------------------------------------------------------------
class MessengerTextOutput(PlainTextOutput):
    limit = MESSENGER_TEXT_LIMIT

    def __init__(self, page_access_token: str, app_secret: str, graph_url: str = "") -> None:
        from fbmessenger import MessengerClient

        # app_secret adds the appsecret_proof Facebook recommends to every call
        self.client = MessengerClient(page_access_token, app_secret=app_secret)
        if graph_url:  # the tests' loopback fake of the Graph API
            self.client.graph_url = graph_url.rstrip("/")

    @classmethod
    def name(cls) -> str:
        return "facebook"

    async def deliver(self, recipient_id: str, text: str, option_payloads: list[str]) -> None:
        payload: dict[str, Any] = {"text": text}
        if 0 < len(option_payloads) <= MESSENGER_QUICK_REPLIES:
            payload["quick_replies"] = [
                {"content_type": "text", "title": str(n), "payload": p}
                for n, p in enumerate(option_payloads, start=1)
            ]
        answer = await asyncio.to_thread(
            self.client.send, payload, recipient_id, "RESPONSE", timeout=SEND_TIMEOUT_SECONDS)
        if isinstance(answer, dict) and answer.get("error"):
            raise RuntimeError(f"Messenger refused the message: {answer['error']}")


class MessengerInput(MessagingInput):
    """Facebook Messenger: GET (verification) and POST /webhooks/facebook/webhook."""

    @classmethod
    def name(cls) -> str:
        return "facebook"

    def required(self, settings: Settings) -> dict[str, str]:
        messenger = settings.messenger
        return {"FACEBOOK_VERIFY_TOKEN": messenger.verify_token, "FACEBOOK_APP_SECRET": messenger.app_secret,
                "FACEBOOK_PAGE_ACCESS_TOKEN": messenger.page_access_token}

    def get_output_channel(self) -> Optional[OutputChannel]:
        messenger = Settings.from_env().messenger
        if not messenger.page_access_token or not messenger.app_secret:
            return None
        return MessengerTextOutput(messenger.page_access_token, messenger.app_secret, messenger.graph_url)

    @staticmethod
    def signature_ok(app_secret: str, body: bytes, header: str) -> bool:
        method, _, given = header.partition("=")
        if method != "sha256" or not given:
            return False
        expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
        # bytes: compare_digest raises TypeError on a str with non-ASCII characters
        return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))

    @staticmethod
    def max_age_hours() -> float:
        """Meta retries a failed delivery for up to 36 hours; an older event is a replay."""
        return Settings.from_env().limits.messenger_max_event_age_hours

    @classmethod
    def too_old(cls, event: dict[str, Any], now: Optional[float] = None) -> bool:
        """Whether a messaging event's ``timestamp`` (ms) is older than the retry period."""
        stamp = event.get("timestamp")
        if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
            return False  # Meta always sends one; without it the seen-ids check still applies
        age = (now if now is not None else time.time()) - stamp / 1000
        return age > cls.max_age_hours() * 3600

    @staticmethod
    def incoming(event: dict[str, Any]) -> Optional[tuple[str, str]]:
        """(text, message id) of a messaging event from a person; None for echoes,
        deliveries, reads."""
        message = event.get("message")
        if isinstance(message, dict) and not message.get("is_echo"):
            quick = message.get("quick_reply")
            if isinstance(quick, dict) and quick.get("payload"):
                return str(quick["payload"]), str(message.get("mid", ""))
            # an attachment has no text: the bot then asks for words
            return str(message.get("text") or ""), str(message.get("mid", ""))
        postback = event.get("postback")
        if isinstance(postback, dict) and postback.get("payload"):
            return str(postback["payload"]), str(postback.get("mid", ""))
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("facebook_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["GET"])
        async def verification(request: Request) -> HTTPResponse:
            unconfigured = self.missing()
            if unconfigured is not None:
                return unconfigured
            token = request.args.get("hub.verify_token", "")
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token.encode(), self.settings()["FACEBOOK_VERIFY_TOKEN"].encode()
            ):
                return response.text(request.args.get("hub.challenge", ""))
            logger.warning("Rejected a Messenger verification request from %s", request.ip)
            return response.json({"error": "wrong verify token"}, status=403)

        @blueprint.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            unconfigured = self.missing()
            if unconfigured is not None:
                return unconfigured
            header = request.headers.get("X-Hub-Signature-256", "")
            if not header:
                return self.refuse(request, "no X-Hub-Signature-256")
            if not self.signature_ok(self.settings()["FACEBOOK_APP_SECRET"], request.body, header):
                return self.refuse(request, "wrong X-Hub-Signature-256")
            body = json_body(request)
            if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
                return response.json({"error": "expected a page event with 'entry'"}, status=400)
            for entry in body["entry"]:
                for event in (entry.get("messaging") or []) if isinstance(entry, dict) else []:
                    sender = (event.get("sender") or {}).get("id") if isinstance(event, dict) else None
                    if sender and self.too_old(event):
                        logger.warning("Skipped a Messenger event older than %s hours (a replay?)",
                                       self.max_age_hours())
                        continue
                    found = self.incoming(event) if sender else None
                    if found is not None:
                        text, message_id = found
                        await self.handle_turn(request, on_new_message, str(sender), text, message_id)
            return response.text("EVENT_RECEIVED")

        return blueprint
