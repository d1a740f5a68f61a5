"""Bad input over the REST channel gets a sensible reply, never a server error."""
from __future__ import annotations

import uuid
from typing import Callable

import pytest

from tests.harness.servers import Bot, texts


def new_sender() -> str:
    return f"rest:bad-{uuid.uuid4().hex[:12]}"


def reply_to(bot: Bot, message: str) -> list[str]:
    sender = new_sender()
    bot.send(sender, "hi")  # past the first-contact line
    return texts(bot.send(sender, message))


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
def test_empty_message_gets_asked_to_rephrase(bot: Bot, message: str, expected_text: Callable[[str], str]) -> None:
    sender = new_sender()
    bot.send(sender, "hi")  # past the first-contact line
    response = bot.post(sender, message)
    assert response.status_code == 200
    # an empty message crashed Rasa's classifier (no features): the patient got nothing
    assert texts(response.json()) == [expected_text("utter_default")]


def test_ten_thousand_characters_get_asked_to_shorten(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    message = ("My back has been sore for weeks and I'm not sure what to do. " * 200)[:10_000]
    assert len(message) == 10_000
    assert reply_to(bot, message) == [expected_text("utter_message_too_long")]


@pytest.mark.parametrize("message", ["😀😀👍", "🤷‍♀️", "asdfjkl;", "'; DROP TABLE events; --"])
def test_not_words_gets_asked_to_rephrase(
    bot: Bot, expected_text: Callable[[str], str], message: str
) -> None:
    assert reply_to(bot, message) == [expected_text("utter_default")]


def test_html_and_script_are_not_echoed(bot: Bot) -> None:
    for message in ["<script>alert('x')</script>", "<img src=x onerror=alert(1)>"]:
        replies = reply_to(bot, message)
        assert replies, message
        assert not any("<script" in r or "onerror" in r for r in replies)


def test_sql_looking_text_leaves_the_conversation_store_intact(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    bot.send(sender, "'; DROP TABLE events; --")
    bot.send(sender, "\" OR 1=1; DELETE FROM events WHERE '1'='1")
    # the store still works: the conversation goes on, and its history is kept
    assert texts(bot.send(sender, "what is dry needling")) == [
        expected_text("utter_faq_what_is_dry_needling")
    ]


@pytest.mark.parametrize(
    "message", ["¿Dónde está la clínica?", "Bonjour, combien coûte une séance ?", "这个治疗疼吗"]
)
def test_another_language_gets_a_reply(bot: Bot, message: str) -> None:
    replies = reply_to(bot, message)
    assert replies and all(r.strip() for r in replies)


@pytest.mark.parametrize("message", ["/faq", "/restart", "/nlu_fallback", "/nonexistent_intent",
                                     "/session_start", '/faq{"x": 1}'])
def test_typed_intent_names_get_asked_to_rephrase(
    bot: Bot, expected_text: Callable[[str], str], message: str
) -> None:
    assert reply_to(bot, message) == [expected_text("utter_default")]


def test_a_button_payload_still_works_when_typed(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    assert reply_to(bot, "/request_booking") == [expected_text("utter_ask_booking_name")]


def test_slash_before_words_is_read_as_words(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    assert reply_to(bot, "/ where are you located") == [expected_text("utter_faq_location")]


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"message": "hi"}, "'sender' must be a non-empty string"),
        ({"sender": "  ", "message": "hi"}, "'sender' must be a non-empty string"),
        ({"sender": "x" * 500, "message": "hi"}, "'sender' must be at most"),
        ({"sender": "x"}, "'message' must be a string"),
        ({"sender": "x", "message": 42}, "'message' must be a string"),
        ({"sender": "x", "message": ["hi"]}, "'message' must be a string"),
        ({"sender": "x", "message": "hi", "metadata": "oops"}, "'metadata' must be"),
        (["not", "an", "object"], "must be a JSON object"),
        ("not json", "must be a JSON object"),
    ],
)
def test_malformed_request_gets_400_with_the_reason(bot: Bot, body: object, reason: str) -> None:
    import requests

    if isinstance(body, str):
        response = requests.post(
            bot.webhook, data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
    else:
        response = requests.post(bot.webhook, json=body, timeout=30)
    assert response.status_code == 400, (response.status_code, response.text)
    assert reason in response.json()["error"]


def test_oversized_message_gets_413(bot: Bot) -> None:
    import requests

    response = requests.post(
        bot.webhook, json={"sender": new_sender(), "message": "a" * 20_001}, timeout=30
    )
    assert response.status_code == 413
    assert "at most 20000 characters" in response.json()["error"]
