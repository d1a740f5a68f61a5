"""The REST channel, with the request checked before it reaches the bot.

Rasa's own REST channel files a message without a ``sender`` under one shared
conversation called "default" (so two patients would share a conversation), and
answers a non-text message with silence. This channel answers such requests with a
400 and the reason instead. URL and replies are Rasa's: POST /webhooks/rest/webhook.

It also puts an urgent reply (a red flag's emergency message) first: when a red flag
is the very first message of a conversation, Rasa sends the first-contact line at
session start, before it has read the message.
"""
from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_assistant.channels.common import json_body, urgent_first

MAX_SENDER_LENGTH = 200
MAX_MESSAGE_LENGTH = 20_000


def request_problem(body: Any) -> Optional[tuple[int, str]]:
    """Why a webhook request body cannot be handled, as (status, reason); None if it can."""
    if not isinstance(body, dict):
        return 400, "the body must be a JSON object with 'sender' and 'message'"
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        return 400, "'sender' must be a non-empty string identifying the conversation"
    if len(sender) > MAX_SENDER_LENGTH:
        return 400, f"'sender' must be at most {MAX_SENDER_LENGTH} characters"
    message = body.get("message")
    if not isinstance(message, str):
        return 400, "'message' must be a string"
    if len(message) > MAX_MESSAGE_LENGTH:
        return 413, f"'message' must be at most {MAX_MESSAGE_LENGTH} characters"
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
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def check_request(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            problem = request_problem(json_body(request))
            if problem is None:
                return None
            status, reason = problem
            return response.json({"error": reason}, status=status)

        @blueprint.middleware("response")
        async def urgent_reply_first(request: Request, reply: HTTPResponse) -> Optional[HTTPResponse]:
            if request.method != "POST" or reply.status != 200 or not reply.body:
                return None
            try:
                messages = json.loads(reply.body)
            except ValueError:
                return None
            if not isinstance(messages, list):
                return None
            ordered = urgent_first(messages)
            return None if ordered == messages else response.json(ordered)

        return blueprint
