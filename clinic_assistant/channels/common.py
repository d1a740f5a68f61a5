"""What the patient channels share: reading a reply's buttons, putting an urgent reply
first, remembering which messages were handled, reading a JSON body."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional

from sanic.request import Request

REMEMBERED_MESSAGE_IDS = 20_000


def buttons_of(message: dict[str, Any]) -> list[dict[str, str]]:
    """A reply's buttons (or quick replies) as {title, payload}, incomplete ones left out."""
    buttons = message.get("buttons") or message.get("quick_replies") or []
    return [
        {"title": str(b["title"]), "payload": str(b["payload"])}
        for b in buttons
        if isinstance(b, dict) and b.get("title") and b.get("payload")
    ]


def is_urgent(message: dict[str, Any]) -> bool:
    custom = message.get("custom")
    return isinstance(custom, dict) and custom.get("urgent") is True


def urgent_first(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A turn's replies with the urgent one first: when a red flag is the very first
    message, Rasa sends the first-contact line at session start, before it has read
    the message. Works on whole replies (text and custom in one message) and on
    Rasa's REST form, where the urgent marker follows its text as its own message."""
    for index, message in enumerate(messages):
        if is_urgent(message):
            own_text = "text" in message
            start = index - 1 if not own_text and index > 0 and "text" in messages[index - 1] else index
            return messages[start:index + 1] + messages[:start] + messages[index + 1:]
    return messages


class MessageIds:
    """Ids of messages already handled (or being handled), the newest remembered."""

    def __init__(self, size: int = REMEMBERED_MESSAGE_IDS) -> None:
        self.size = size
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()

    def claim(self, conversation_id: str, message_id: str) -> bool:
        """True the first time a message id is seen for a conversation."""
        key = (conversation_id, message_id)
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True

    def release(self, conversation_id: str, message_id: str) -> None:
        """Forgets a message that could not be handled, so that it can be sent again."""
        self._ids.pop((conversation_id, message_id), None)


def replies_after(events: list[Any], message_id: str) -> Optional[list[dict[str, Any]]]:
    """The bot's replies to the stored patient message ``message_id`` (Rasa events), as
    the messages Rasa gave the output channel; None when no patient message with that
    id is stored."""
    from rasa.shared.core.events import BotUttered, UserUttered

    replies: Optional[list[dict[str, Any]]] = None
    for event in events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif replies is not None and isinstance(event, BotUttered):
            parts = {key: value for key, value in (event.data or {}).items() if value}
            replies.append({"text": event.text, **parts} if event.text else parts)
    return replies


def json_body(request: Request) -> Optional[Any]:
    """The request's JSON body; None when it is missing or not JSON."""
    try:
        return request.json
    except Exception:  # Sanic raises its own error type for unparsable JSON
        return None
