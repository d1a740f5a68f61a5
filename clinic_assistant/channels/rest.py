"""The REST channel, with the request checked before it reaches the bot.

Rasa's own REST channel files a message without a ``sender`` under one shared
conversation called "default" (so two patients would share a conversation), and
answers a non-text message with silence. This channel answers such requests with a
400 and the reason instead. URL and replies are Rasa's: POST /webhooks/rest/webhook.

Its conversations are ``rest:<sender>`` (clinic_assistant/clinic/identity.py): a ``sender``
naming another channel's conversation (``sms:…``, ``web:…``) gets a 400, so this
channel can neither read nor write a patient's SMS or widget conversation.

It also puts an urgent reply (a red flag's emergency message) first: when a red flag
is the very first message of a conversation, Rasa sends the first-contact line at
session start, before it has read the message.

When the bot cannot handle a message (its database or lock store is unreachable),
the client gets a 503 saying to send it again; Rasa's channel answered 200 with no
reply. A request may carry a ``message_id``: sent again after a lost answer (a
replica that died, a time-out), a message already handled is not handled twice; its
stored replies are returned instead (header ``X-Clinic-Replayed: true``).
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_assistant import limits
from clinic_assistant.clinic import identity
from clinic_assistant.channels.common import json_body, urgent_first

MAX_SENDER_LENGTH = limits.MAX_SENDER
MAX_MESSAGE_LENGTH = limits.MAX_CHANNEL_MESSAGE
MAX_MESSAGE_ID_LENGTH = limits.MAX_MESSAGE_ID
logger = logging.getLogger(__name__)


def request_problem(body: Any) -> Optional[tuple[int, str]]:
    """Why a webhook request body cannot be handled, as (status, reason); None if it can."""
    if not isinstance(body, dict):
        return 400, "the body must be a JSON object with 'sender' and 'message'"
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        return 400, "'sender' must be a non-empty string identifying the conversation"
    if len(sender) > MAX_SENDER_LENGTH:
        return 400, f"'sender' must be at most {MAX_SENDER_LENGTH} characters"
    try:
        identity.rest_conversation(sender)
    except identity.IdentityError as error:
        return 400, str(error)
    message = body.get("message")
    if not isinstance(message, str):
        return 400, "'message' must be a string"
    if len(message) > MAX_MESSAGE_LENGTH:
        return 413, f"'message' must be at most {MAX_MESSAGE_LENGTH} characters"
    message_id = body.get("message_id")
    if message_id is not None and (not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_MESSAGE_ID_LENGTH):
        return 400, f"'message_id' must be a string of 1 to {MAX_MESSAGE_ID_LENGTH} characters"
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return 400, "'metadata' must be a JSON object"
    return None


class ClinicRestInput(RestInput):
    """Rasa's REST channel with request validation (same name and URL: ``rest``)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.middleware("request")
        async def check_request(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            problem = request_problem(json_body(request))
            if problem is None:
                return None
            status, reason = problem
            return response.json({"error": reason}, status=status)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = json_body(request)
            sender_id, message_id = identity.rest_conversation(body["sender"]), body.get("message_id")
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(
                    body["message"], collector, sender_id, input_channel=self.name(),
                    metadata=body.get("metadata"), message_id=message_id,
                ))
            except Exception as error:
                # Rasa's channel answers 200 with whatever was collected: a patient's
                # message lost without a word. Here the client learns it must resend.
                logger.exception("Could not handle a message of conversation %s", sender_id)
                return response.json(
                    {"error": "the message could not be handled right now; send it again",
                     "reason": type(error).__name__},
                    status=503, headers={"Retry-After": "2"},
                )
            # a message_id already in the conversation was answered from the record
            # (ClinicMessageProcessor in clinic_assistant/rasa/patches.py)
            replayed = {"X-Clinic-Replayed": "true"} if getattr(collector, "replayed", False) else None
            return response.json(urgent_first(collector.messages), headers=replayed)

        return webhook
