"""Conversation ids (clinic_assistant/clinic/identity.py), the parts on their own; the
channels' behaviour is tested end to end in test_socketio_channel.py,
test_messaging.py and test_rest_channel.py."""
from __future__ import annotations

import pytest

from clinic_assistant.clinic import identity


@pytest.mark.parametrize("sender", ["abc\n", "abc ", "sms:" + "a" * 32, "web:" + "0" * 32, "+17805550123",
                                    "SMS:x", "rest:", "rest:a/b", "ａｂｃ", "x" * 101])
def test_the_rest_channel_refuses_other_kinds_and_odd_names(sender: str) -> None:
    with pytest.raises(identity.IdentityError):
        identity.rest_conversation(sender)


def test_the_rest_channel_names_its_own_conversations() -> None:
    assert identity.rest_conversation("test-1.a_b") == "rest:test-1.a_b"
    assert identity.rest_conversation("rest:test-1") == "rest:test-1"


def test_a_widget_token_opens_only_its_own_conversation() -> None:
    conversation_id, token = identity.new_web_conversation()
    assert identity.web_conversation(token) == conversation_id
    key = conversation_id.removeprefix("web:")
    for forged in (conversation_id, key, token + "x", token.upper(), f"{key}.{token.split('.')[1][::-1]}", "", None, 42):
        assert identity.web_conversation(forged) is None
    assert identity.new_web_conversation()[0] != conversation_id


def test_one_number_one_id_per_channel_and_never_the_number() -> None:
    sms = identity.address_conversation("sms", "+17805550123")
    assert sms == identity.address_conversation("sms", "+1 (780) 555-0123")
    assert sms.startswith("sms:") and "5550123" not in sms
    assert identity.address_conversation("whatsapp", "whatsapp:+17805550123") not in (sms, None)
    assert identity.address_conversation("sms", "+17805550124") != sms
    assert identity.channel_of(sms) == "twilio" and identity.channel_of("web:" + "0" * 32) == "socketio"


@pytest.mark.parametrize("value, refused", [
    ("", True), ("short", True), ("change-me-" + "x" * 40, True), ("an-example-" + "y" * 40, True),
    ("Zq3v8MxW1pL0sK9dT7bN2cR5yH4gJ6fA8eU1iO3", False),
])
def test_a_weak_secret_is_refused(value: str, refused: bool) -> None:
    assert (identity.secret_problem(value) is not None) is refused
