"""The widget's socket.io channel (clinic_assistant/channels/socketio.py), spoken to by
python-socketio's client against the real bot; the browser tests use the widget."""
from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any, Callable

import pytest
import requests
import socketio

from clinic_assistant.clinic import identity
from clinic_assistant.channels.common import MessageIds
from clinic_assistant.channels.socketio import history_messages, message_problem
from rasa.shared.core.events import BotUttered, UserUttered

WEBSITE = "http://127.0.0.1:8080"  # an allowed origin (credentials.yml / WIDGET_ORIGINS)


class Patient:
    """One widget connection: what it received, in order."""

    def __init__(self, url: str, origin: str = WEBSITE) -> None:
        self.url, self.origin = url, origin
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, Any]] = []
        for event in ("bot_uttered", "session_confirm", "session_history"):
            self.client.on(event, self._recorder(event))

    def _recorder(self, event: str) -> Callable[[Any], Any]:
        async def record(data: Any) -> None:
            self.received.append((event, data))
        return record

    async def __aenter__(self) -> "Patient":
        await self.client.connect(self.url, headers={"Origin": self.origin}, transports=["websocket"])
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.client.disconnect()

    async def start(self, token: str | None = None) -> str:
        """Asks for a conversation (with a token: to resume it); returns the token the
        server confirmed."""
        await self.client.emit("session_request", {"session_id": token} if token else {})
        for _ in range(100):
            for event, data in self.received:
                if event == "session_confirm":
                    return data
            await asyncio.sleep(0.1)
        raise AssertionError("no session_confirm")

    async def say(self, session_id: str, text: str, message_id: str | None = None) -> Any:
        return await self.client.call(
            "user_uttered",
            {"session_id": session_id, "message": text, "message_id": message_id or uuid.uuid4().hex},
            timeout=30,
        )

    def replies(self) -> list[dict[str, Any]]:
        return [data for event, data in self.received if event == "bot_uttered"]


async def test_a_new_conversation_starts_with_the_first_contact_line(
    bot: Any, expected_text: Callable[[str], str]
) -> None:
    async with Patient(bot.rasa.url) as patient:
        await patient.start()
        assert patient.replies() == [{"text": expected_text("utter_disclaimer")}]
        assert [event for event, _ in patient.received] == ["bot_uttered", "session_confirm"]


async def test_an_urgent_reply_is_one_event_with_its_marker(
    bot: Any, expected_text: Callable[[str], str]
) -> None:
    async with Patient(bot.rasa.url) as patient:
        session = await patient.start()
        ack = await patient.say(session, "I have chest pain and can't breathe")
        assert ack["ok"] is True
        assert patient.replies()[1:] == [{
            "text": expected_text("utter_red_flag_emergency"),
            "custom": {"urgent": True, "tier": "911"},
        }]


async def test_the_handoff_payload_reaches_the_widget(bot: Any) -> None:
    # Rasa's own socket.io channel raised a TypeError on a custom JSON payload.
    async with Patient(bot.rasa.url) as patient:
        session = await patient.start()
        await patient.say(session, "I want to talk to a real person")
        await patient.say(session, "skip")
        handoffs = [r["custom"]["handoff"] for r in patient.replies() if "handoff" in r.get("custom", {})]
        assert len(handoffs) == 1
        assert handoffs[0]["status"] == "waiting_for_staff"
        assert isinstance(handoffs[0]["ticket_id"], int)


async def test_a_message_sent_twice_is_handled_once(bot: Any) -> None:
    async with Patient(bot.rasa.url) as patient:
        session = await patient.start()
        first = await patient.say(session, "What is dry needling?", message_id="m-1")
        again = await patient.say(session, "What is dry needling?", message_id="m-1")
        assert first == {"ok": True, "message_id": "m-1"}
        assert again == {"ok": True, "duplicate": True, "message_id": "m-1"}
        assert len(patient.replies()) == 2  # first-contact line and one answer
    assert bot.user_texts(identity.web_conversation(session)) == ["What is dry needling?"]


async def test_reconnecting_shows_the_history_with_button_titles(bot: Any) -> None:
    async with Patient(bot.rasa.url) as patient:
        session = await patient.start()
        await patient.say(session, "hello", message_id="m-hello")
        await patient.say(session, "/request_booking", message_id="m-book")
    async with Patient(bot.rasa.url) as patient:
        assert await patient.start(session) == session
        history = [data for event, data in patient.received if event == "session_history"]
        assert len(history) == 1
        messages = history[0]["messages"]
        assert [(m["sender"], m.get("id")) for m in messages] == [
            ("bot", None), ("user", "m-hello"), ("bot", None), ("user", "m-book"), ("bot", None)
        ]
        assert messages[3]["text"] == "How do I book?"  # the button's title, not "/request_booking"
        assert patient.replies() == []  # an existing conversation does not start again


# --- whose conversation it is (issue #15) ---------------------------------------------
async def test_a_conversation_id_the_server_did_not_issue_opens_nothing(bot: Any) -> None:
    """Knowing (or guessing) a conversation's id, or forging its token, neither shows
    its history nor writes into it: the asker gets a new conversation."""
    async with Patient(bot.rasa.url) as patient:
        token = await patient.start()
        await patient.say(token, "my name is Jane Doe and my knee hurts", message_id="m-1")
    victim = identity.web_conversation(token)
    assert victim is not None and victim.startswith("web:") and len(victim) == 4 + 32
    key = victim.removeprefix("web:")
    forged = [victim, key, f"{key}.{'A' * 43}", token[:-2] + ("AA" if not token.endswith("AA") else "BB")]
    for attempt in forged:
        async with Patient(bot.rasa.url) as attacker:
            given = await attacker.start(attempt)
            assert given != token and identity.web_conversation(given) != victim
            assert not [data for event, data in attacker.received if event == "session_history"]
            ack = await attacker.say(attempt, "I am the patient, send me my history")
            assert ack["ok"] is False and ack["code"] == "session_invalid"
    assert bot.user_texts(victim) == ["my name is Jane Doe and my knee hurts"]


async def test_a_staff_reply_reaches_only_the_conversations_own_widget(bot: Any) -> None:
    async with Patient(bot.rasa.url) as patient, Patient(bot.rasa.url) as attacker:
        token = await patient.start()
        await patient.say(token, "I want to talk to a real person")
        await patient.say(token, "skip")
        conversation_id = identity.web_conversation(token)
        await attacker.start(conversation_id)  # tries to join the patient's room by its id
        await attacker.say(conversation_id, "hello?")
        answer = await asyncio.to_thread(
            requests.post, f"{bot.rasa.url}/webhooks/staff/reply", timeout=30,
            headers={"Authorization": f"Bearer {os.environ['STAFF_API_TOKEN']}"},
            json={"conversation_id": conversation_id, "text": "Hi, this is Anna.", "staff_name": "Anna"})
        assert answer.json() == {"ok": True, "channel": "socketio", "delivered": True}
        for _ in range(50):
            if any(r.get("text") == "Hi, this is Anna." for r in patient.replies()):
                break
            await asyncio.sleep(0.1)
        assert any(r.get("text") == "Hi, this is Anna." for r in patient.replies())
        assert not any(r.get("text") == "Hi, this is Anna." for r in attacker.replies())


async def test_starting_over_leaves_the_old_conversation(bot: Any) -> None:
    """After "start over" on the same page, a staff reply to the old conversation no
    longer shows there (a shared computer: the next person must not see it)."""
    async with Patient(bot.rasa.url) as patient:
        old = await patient.start()
        await patient.say(old, "I want to talk to a real person")
        patient.received.clear()
        await patient.client.emit("session_request", {})  # what "start over" sends
        for _ in range(50):
            if any(event == "session_confirm" for event, _ in patient.received):
                break
            await asyncio.sleep(0.1)
        answer = await asyncio.to_thread(
            requests.post, f"{bot.rasa.url}/webhooks/staff/reply", timeout=30,
            headers={"Authorization": f"Bearer {os.environ['STAFF_API_TOKEN']}"},
            json={"conversation_id": identity.web_conversation(old), "text": "Hi, Anna here.",
                  "staff_name": "Anna"})
        assert answer.status_code == 200
        await asyncio.sleep(1.0)
        assert not any(r.get("text") == "Hi, Anna here." for r in patient.replies())


@pytest.mark.parametrize("data, reason", [
    ("just text", "must be an object"),
    ({"message": "hi"}, "'session_id'"),
    ({"session_id": "s", "message": 42}, "'message' must be a string"),
    ({"session_id": "s", "message": "x" * 20_001}, "at most 20000"),
    ({"session_id": "s", "message": "hi", "metadata": "nope"}, "'metadata'"),
])
async def test_a_malformed_message_gets_the_reason(bot: Any, data: Any, reason: str) -> None:
    async with Patient(bot.rasa.url) as patient:
        ack = await patient.client.call("user_uttered", data, timeout=30)
    assert ack["ok"] is False and reason in ack["error"]


async def test_another_website_cannot_connect(bot: Any) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        async with Patient(bot.rasa.url, origin="https://not-the-clinic.example"):
            pass


# --- the parts on their own ---------------------------------------------------------
def test_history_keeps_the_order_and_shows_chosen_buttons_by_title() -> None:
    events = [
        BotUttered("Hi", {"buttons": [{"title": "Book", "payload": "/request_booking"}]}),
        UserUttered("/request_booking", message_id="a"),
        BotUttered("Your name?"),
        UserUttered("/request_booking", message_id="b"),  # typed, no button offered
    ]
    assert [(m["sender"], m["text"]) for m in history_messages(events)] == [
        ("bot", "Hi"), ("user", "Book"), ("bot", "Your name?"), ("user", "/request_booking")
    ]
    assert len(history_messages(events * 40, limit=100)) == 100


def test_message_ids_are_claimed_once_and_released_on_failure() -> None:
    ids = MessageIds(size=2)
    assert ids.claim("s", "1") and not ids.claim("s", "1")
    ids.release("s", "1")
    assert ids.claim("s", "1")
    ids.claim("s", "2"), ids.claim("s", "3")
    assert ids.claim("s", "1")  # the oldest is forgotten past the size


def test_message_problem_accepts_a_widget_message() -> None:
    assert message_problem({"session_id": "s", "message": "hi", "message_id": "m"}) is None
