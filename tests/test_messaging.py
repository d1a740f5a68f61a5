"""SMS and WhatsApp (Twilio) and Messenger, end to end through the real connectors: a
correctly signed webhook → the bot → the outgoing message, captured by a loopback
fake of the platform's API (the real client libraries, pointed at 127.0.0.1)."""
from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
import uuid
from contextlib import ExitStack
from typing import Any, Callable, Iterator

import pytest
import requests
from twilio.request_validator import RequestValidator

from clinic_assistant.clinic import identity
from clinic_assistant.channels.common import urgent_first
from clinic_assistant.channels.plain_text import chosen_payload, reply_text, split_text
from tests.harness.servers import Bot, free_port, running_bot, start_rasa_server
from rasa.shared.core.events import BotUttered, UserUttered
from tests.platform_fakes import FakePlatform, fake_platform

AUTH_TOKEN = "twilio-auth-token-for-tests"
SMS_NUMBER = "+17805550100"
WHATSAPP_NUMBER = "whatsapp:+17805550100"
APP_SECRET = "facebook-app-secret-for-tests"
VERIFY_TOKEN = "verify-me"
PAGE_TOKEN = "page-token-for-tests"
STAFF_TOKEN = "staff-token-for-the-messaging-tests-0123456789"


class Messaging:
    def __init__(self, bot: Bot, twilio: FakePlatform, graph: FakePlatform, replica: Any) -> None:
        self.bot, self.twilio, self.graph = bot, twilio, graph
        self.replica = replica  # a second Rasa server on the same database

    def twilio_post(self, channel: str, params: dict[str, str], signature: str | None = "sign",
                    server: str | None = None) -> requests.Response:
        url = f"{server or self.bot.rasa.url}/webhooks/{channel}/webhook"
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        return requests.post(url, data=params, headers=headers, timeout=30)

    def sms(self, sender: str, body: str, channel: str = "twilio") -> requests.Response:
        answer = self.twilio_post(channel, {
            "From": sender, "To": WHATSAPP_NUMBER if channel == "whatsapp" else SMS_NUMBER,
            "Body": body, "MessageSid": "SM" + uuid.uuid4().hex,
        })
        assert answer.status_code == 200, answer.text
        return answer

    def messenger_post(self, body: dict[str, Any], secret: str = APP_SECRET,
                       server: str | None = None) -> requests.Response:
        raw = json.dumps(body).encode()
        signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return requests.post(f"{server or self.bot.rasa.url}/webhooks/facebook/webhook", data=raw, timeout=30,
                             headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})

    def staff(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.bot.rasa.url}/webhooks/staff/{path}", json=body, timeout=60,
                             headers={"Authorization": f"Bearer {STAFF_TOKEN}"})

    def user_texts(self, sender: str) -> list[str]:
        return self.bot.user_texts(conversation_of(sender))


def conversation_of(address: str) -> str:
    """The conversation id the bot files a phone number's or Messenger id's messages under."""
    if address.startswith("whatsapp:"):
        return identity.address_conversation("whatsapp", address)
    if address.startswith("+"):
        return identity.address_conversation("sms", address)
    return identity.address_conversation("messenger", address)


def page_event(sender: str, message: dict[str, Any], at: float | None = None) -> dict[str, Any]:
    stamp = int((time.time() if at is None else at) * 1000)
    return {"object": "page", "entry": [{"id": "page", "time": stamp, "messaging": [
        {"sender": {"id": sender}, "recipient": {"id": "page"}, "timestamp": stamp, "message": message}]}]}


def new_phone() -> str:
    return f"+1780555{uuid.uuid4().int % 10000:04d}"


@pytest.fixture(scope="module")
def messaging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Messaging]:
    with ExitStack() as stack:
        twilio = stack.enter_context(fake_platform("twilio"))
        graph = stack.enter_context(fake_platform("facebook"))
        env = {
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_SMS_NUMBER": SMS_NUMBER, "TWILIO_WHATSAPP_NUMBER": WHATSAPP_NUMBER,
            "TWILIO_API_BASE_URL": twilio.url,
            "FACEBOOK_VERIFY_TOKEN": VERIFY_TOKEN, "FACEBOOK_APP_SECRET": APP_SECRET,
            "FACEBOOK_PAGE_ACCESS_TOKEN": PAGE_TOKEN, "FACEBOOK_GRAPH_URL": graph.url + "/v19.0",
            "STAFF_API_TOKEN": STAFF_TOKEN,
        }
        bot = stack.enter_context(running_bot(tmp_path_factory.mktemp("messaging") / "tracker.db", rasa_env=env))
        replica = stack.enter_context(start_rasa_server(
            free_port(), 0, bot.tracker_db, action_url=f"{bot.actions.url}/webhook", name="replica", **env))
        yield Messaging(bot, twilio, graph, replica)


# --- SMS ------------------------------------------------------------------------------
def test_an_sms_question_gets_the_first_contact_line_then_the_answer(
    messaging: Messaging, expected_text: Callable[[str], str]
) -> None:
    phone = new_phone()
    answer = messaging.sms(phone, "What is dry needling?")
    assert answer.headers["Content-Type"].startswith("text/xml") and "<Response>" in answer.text
    first, second = messaging.twilio.wait_for(phone, 2)
    assert first == expected_text("utter_disclaimer")
    assert second == expected_text("utter_faq_what_is_dry_needling") + (
        "\n\nReply with a number:\n1. Book an assessment")
    messaging.sms(phone, "Does it hurt?")
    sent = messaging.twilio.wait_for(phone, 3)
    assert sum(expected_text("utter_disclaimer") == text for text in sent) == 1  # once per conversation
    assert all(call["from"] == SMS_NUMBER for call in messaging.twilio.calls if call["to"] == phone)


def test_buttons_become_numbered_options_and_a_number_picks_one(
    messaging: Messaging, expected_text: Callable[[str], str]
) -> None:
    phone = new_phone()
    messaging.sms(phone, "hi")
    greeting = messaging.twilio.wait_for(phone, 2)[1]
    assert greeting == (expected_text("utter_greet") + "\n\nReply with a number:\n1. What is dry needling?\n"
                        "2. Can it help my condition?\n3. How do I book?")
    messaging.sms(phone, "3")
    assert messaging.twilio.wait_for(phone, 3)[2] == expected_text("utter_ask_booking_name")
    assert messaging.user_texts(phone)[-1] == "/request_booking"  # the option's payload
    messaging.sms(phone, "7")  # not an option: read as text, so the booking form takes it as a name
    assert messaging.user_texts(phone)[-1] == "7"


def test_a_booking_request_completed_over_sms(messaging: Messaging) -> None:
    phone = new_phone()
    for text in ["I'd like to book an appointment", "Sam Lee", phone[2:], "Tuesday afternoon",
                 "my sore neck", "new"]:
        messaging.sms(phone, text)
    summary = messaging.twilio.sent(phone)[-1]
    assert "Sam Lee" in summary and "Reply with a number:\n1. Yes, send it" in summary
    messaging.sms(phone, "1")
    assert "sent" in messaging.twilio.sent(phone)[-1].lower()
    with sqlite3.connect(messaging.bot.tracker_db) as db:
        row = db.execute("SELECT name, phone, channel, status FROM booking_requests WHERE conversation_id = ?",
                         (conversation_of(phone),)).fetchone()
    assert row == ("Sam Lee", phone, "twilio", "new")


def test_a_red_flag_as_the_first_text_gets_the_emergency_reply_first(
    messaging: Messaging, expected_text: Callable[[str], str]
) -> None:
    phone = new_phone()
    messaging.sms(phone, "I have chest pain and can't breathe")
    sent = messaging.twilio.wait_for(phone, 2)
    assert sent[0] == "URGENT: " + expected_text("utter_red_flag_emergency")
    assert sent[1] == expected_text("utter_disclaimer")


@pytest.mark.parametrize("signature", [None, "wrong", "sign-other-url"])
def test_unsigned_or_wrongly_signed_webhooks_are_refused(
    messaging: Messaging, signature: str | None, caplog: Any
) -> None:
    phone = new_phone()
    params = {"From": phone, "To": SMS_NUMBER, "Body": "hello", "MessageSid": "SMbad"}
    if signature == "sign-other-url":
        signature = RequestValidator(AUTH_TOKEN).compute_signature("https://elsewhere.example/hook", params)
    answer = messaging.twilio_post("twilio", params, signature=signature)
    assert answer.status_code == 403
    assert messaging.user_texts(phone) == [] and messaging.twilio.sent(phone) == []
    assert "Rejected a twilio webhook" in messaging.bot.rasa.log_tail(200)


def test_a_webhook_delivered_twice_is_handled_once(messaging: Messaging) -> None:
    phone = new_phone()
    params = {"From": phone, "To": SMS_NUMBER, "Body": "What is dry needling?", "MessageSid": "SMtwice" + phone}
    assert messaging.twilio_post("twilio", params).status_code == 200
    assert messaging.twilio_post("twilio", params).status_code == 200
    assert messaging.user_texts(phone) == ["What is dry needling?"]
    assert len(messaging.twilio.wait_for(phone, 2)) == 2


def test_a_platform_error_does_not_lose_the_patients_message(messaging: Messaging) -> None:
    phone = new_phone()
    messaging.twilio.failing = True
    try:
        answer = messaging.sms(phone, "Do you direct bill insurance?")
    finally:
        messaging.twilio.failing = False
    assert answer.status_code == 200
    assert messaging.user_texts(phone) == ["Do you direct bill insurance?"]
    assert f"Could not send a twilio reply to conversation {conversation_of(phone)}" in messaging.bot.rasa.log_tail(200)
    messaging.sms(phone, "hello")  # the platform is back: the conversation goes on
    assert messaging.twilio.sent(phone)


def test_whatsapp_is_its_own_conversation(messaging: Messaging, expected_text: Callable[[str], str]) -> None:
    phone = new_phone()
    messaging.sms(phone, "hi")
    messaging.sms("whatsapp:" + phone, "What is dry needling?", channel="whatsapp")
    sent = messaging.twilio.wait_for("whatsapp:" + phone, 2)
    assert sent[1].startswith(expected_text("utter_faq_what_is_dry_needling"))
    assert {c["from"] for c in messaging.twilio.calls if c["to"] == "whatsapp:" + phone} == {WHATSAPP_NUMBER}
    assert messaging.user_texts(phone) == ["hi"]
    assert messaging.user_texts("whatsapp:" + phone) == ["What is dry needling?"]


def test_a_staff_reply_reaches_an_sms_patient(messaging: Messaging) -> None:
    phone = new_phone()
    messaging.sms(phone, "I want to talk to a person")
    messaging.sms(phone, "skip")
    answer = requests.post(f"{messaging.bot.rasa.url}/webhooks/staff/reply", timeout=30,
                           headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
                           json={"conversation_id": conversation_of(phone), "text": "Hi, this is Anna.",
                                 "staff_name": "Anna"})
    assert answer.json() == {"ok": True, "channel": "twilio", "delivered": True}
    assert messaging.twilio.sent(phone)[-1] == "Anna (clinic staff): Hi, this is Anna."


# --- whose conversation it is (issue #15) ------------------------------------------------
def all_stored_text(database: Any) -> str:
    """Every value of every table of the database, as one text."""
    with sqlite3.connect(database) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(str(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))


def test_a_phone_number_is_never_a_conversation_id(messaging: Messaging) -> None:
    phone = new_phone()
    messaging.sms(phone, "hi")
    messaging.sms("whatsapp:" + phone, "hi", channel="whatsapp")
    with sqlite3.connect(messaging.bot.tracker_db) as db:
        ids = {sender for (sender,) in db.execute("SELECT DISTINCT sender_id FROM events")}
        contacts = {row[0]: row[1] for row in db.execute("SELECT conversation_id, address FROM conversation_contacts")}
    assert not [i for i in ids if phone[2:] in i]
    sms, whatsapp = conversation_of(phone), conversation_of("whatsapp:" + phone)
    assert sms.startswith("sms:") and whatsapp.startswith("whatsapp:") and {sms, whatsapp} <= ids
    assert contacts[sms] == phone and contacts[whatsapp] == "whatsapp:" + phone


@pytest.mark.parametrize("sender", ["phone", "sms-id", "web-id"])
def test_the_rest_channel_cannot_name_another_channels_conversation(messaging: Messaging, sender: str) -> None:
    phone = new_phone()
    messaging.sms(phone, "my name is Sam Lee")
    named = {"phone": phone, "sms-id": conversation_of(phone), "web-id": "web:" + "0" * 32}[sender]
    answer = messaging.bot.post(named, "what did I say before?")
    assert answer.status_code == 400
    assert "REST channel cannot use" in answer.json()["error"] or "'sender' must be" in answer.json()["error"]
    assert messaging.user_texts(phone) == ["my name is Sam Lee"]


def test_a_staff_reply_goes_to_the_channel_the_id_names(messaging: Messaging) -> None:
    """Not to the channel of the last stored message: a message in an SMS conversation
    that came from elsewhere (old data, or a hole elsewhere) cannot take staff replies."""
    phone = new_phone()
    messaging.sms(phone, "I want to talk to a person")
    messaging.sms(phone, "skip")
    assert messaging.bot.post(phone, "it's me on the website now").status_code == 400
    with sqlite3.connect(messaging.bot.tracker_db) as db:  # as if it had come from the widget
        row = db.execute("SELECT sender_id, type_name, timestamp, intent_name, data FROM events "
                         "WHERE sender_id = ? AND type_name = 'user' ORDER BY id DESC LIMIT 1",
                         (conversation_of(phone),)).fetchone()
        data = {**json.loads(row[4]), "input_channel": "socketio", "text": "it's me on the website now"}
        db.execute("INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) VALUES (?, ?, ?, ?, ?)",
                   (row[0], row[1], row[2] + 1, row[3], json.dumps(data)))
    answer = messaging.staff("reply", {"conversation_id": conversation_of(phone), "text": "Hi, Anna here.",
                                       "staff_name": "Anna"})
    assert answer.json() == {"ok": True, "channel": "twilio", "delivered": True}
    assert messaging.twilio.sent(phone)[-1] == "Anna (clinic staff): Hi, Anna here."


def test_forget_leaves_no_number_or_name_anywhere(messaging: Messaging) -> None:
    phone = new_phone()
    for text in ["I'd like to book an appointment", "Priya Ramanathan", phone[2:], "Tuesday afternoon",
                 "my sore neck", "new", "1"]:
        messaging.sms(phone, text)
    messaging.sms(phone, "I want to talk to a person")
    stored = all_stored_text(messaging.bot.tracker_db)
    assert phone[2:] in stored and "Ramanathan" in stored  # kept while the conversation exists
    answer = messaging.staff("forget", {"conversation_ids": [conversation_of(phone)], "staff_name": "Anna"})
    assert answer.status_code == 200 and answer.json()["deleted"] == 1
    stored = all_stored_text(messaging.bot.tracker_db)
    assert phone[2:] not in stored and "Ramanathan" not in stored


def test_a_replayed_webhook_is_not_handled_again_on_another_replica(messaging: Messaging) -> None:
    """After the conversation was forgotten, a captured, correctly signed webhook sent
    again to another replica is acknowledged and not handled (nothing stored or sent)."""
    phone = new_phone()
    params = {"From": phone, "To": SMS_NUMBER, "Body": "my knee hurts", "MessageSid": "SMreplay" + phone[2:]}
    assert messaging.twilio_post("twilio", params).status_code == 200
    messaging.twilio.wait_for(phone, 2)
    assert messaging.staff("forget", {"conversation_ids": [conversation_of(phone)],
                                      "staff_name": "Anna"}).json()["deleted"] == 1
    sent_before = len(messaging.twilio.sent(phone))
    replay = messaging.twilio_post("twilio", params, server=messaging.replica.url)
    assert replay.status_code == 200 and "<Response>" in replay.text
    assert messaging.user_texts(phone) == []
    assert len(messaging.twilio.sent(phone)) == sent_before


def test_a_failure_to_note_a_handled_webhook_does_not_cost_the_replies(
    messaging: Messaging, expected_text: Callable[[str], str]
) -> None:
    """Noting the handled id comes after the turn is stored: if that write fails, the
    patient still gets the replies (the emergency one first)."""
    phone = new_phone()
    with sqlite3.connect(messaging.bot.tracker_db) as db:
        db.execute("CREATE TRIGGER refuse_seen BEFORE INSERT ON seen_webhooks "
                   "BEGIN SELECT RAISE(FAIL, 'disk full'); END")
    try:
        answer = messaging.sms(phone, "I have chest pain and can't breathe")
    finally:
        with sqlite3.connect(messaging.bot.tracker_db) as db:
            db.execute("DROP TRIGGER refuse_seen")
    assert answer.status_code == 200
    assert messaging.twilio.wait_for(phone, 2)[0] == "URGENT: " + expected_text("utter_red_flag_emergency")


def test_a_messenger_event_older_than_the_retry_period_is_not_handled(messaging: Messaging) -> None:
    psid = str(uuid.uuid4().int)[:16]
    old = page_event(psid, {"mid": "old" + psid, "text": "hello"}, at=time.time() - 37 * 3600)
    answer = messaging.messenger_post(old)
    assert answer.status_code == 200 and answer.text == "EVENT_RECEIVED"
    assert messaging.user_texts(psid) == []
    recent = page_event(psid, {"mid": "new" + psid, "text": "hello"}, at=time.time() - 60)
    messaging.messenger_post(recent)
    assert messaging.user_texts(psid) == ["hello"]


def test_a_messenger_signature_with_non_ascii_characters_is_refused(messaging: Messaging) -> None:
    raw = json.dumps(page_event("123", {"mid": "z", "text": "hi"})).encode()
    answer = requests.post(f"{messaging.bot.rasa.url}/webhooks/facebook/webhook", data=raw, timeout=10,
                           headers={"Content-Type": "application/json",
                                    "X-Hub-Signature-256": "sha256=é".encode("utf-8")})
    assert answer.status_code == 403


# --- Messenger --------------------------------------------------------------------------
def test_messenger_verification_handshake(messaging: Messaging) -> None:
    url = f"{messaging.bot.rasa.url}/webhooks/facebook/webhook"
    ok = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                   "hub.challenge": "1158201444"}, timeout=10)
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                      "hub.challenge": "1"}, timeout=10)
    assert wrong.status_code == 403


def test_messenger_messages_options_and_quick_replies(
    messaging: Messaging, expected_text: Callable[[str], str]
) -> None:
    psid = str(uuid.uuid4().int)[:16]
    answer = messaging.messenger_post(page_event(psid, {"mid": "m1" + psid, "text": "hello"}))
    assert answer.status_code == 200 and answer.text == "EVENT_RECEIVED"
    messaging.graph.wait_for(psid, 2)
    greeting = [c for c in messaging.graph.calls if c["to"] == psid][1]
    assert greeting["text"].startswith(expected_text("utter_greet"))
    assert [(q["title"], q["payload"]) for q in greeting["quick_replies"]] == [
        ("1", "What is dry needling?"), ("2", "Which conditions can dry needling help?"), ("3", "/request_booking")]
    assert greeting["access_token"] == PAGE_TOKEN and greeting["appsecret_proof"]
    messaging.messenger_post(page_event(psid, {"mid": "m2" + psid, "text": "3",
                                               "quick_reply": {"payload": "/request_booking"}}))
    assert messaging.graph.wait_for(psid, 3)[2] == expected_text("utter_ask_booking_name")


def test_messenger_handles_every_message_of_a_batch(messaging: Messaging) -> None:
    first, second = str(uuid.uuid4().int)[:15], str(uuid.uuid4().int)[:15]
    body = page_event(first, {"mid": "a" + first, "text": "What is dry needling?"})
    body["entry"].append(page_event(second, {"mid": "b" + second, "text": "Does it hurt?"})["entry"][0])
    body["entry"][0]["messaging"].append({"sender": {"id": "page"}, "recipient": {"id": first},
                                          "message": {"mid": "echo", "text": "x", "is_echo": True}})
    assert messaging.messenger_post(body).status_code == 200
    assert messaging.user_texts(first) == ["What is dry needling?"]
    assert messaging.user_texts(second) == ["Does it hurt?"]
    assert messaging.user_texts("page") == []  # the page's own echo is not a patient


def test_messenger_refuses_bad_signatures(messaging: Messaging) -> None:
    psid = str(uuid.uuid4().int)[:16]
    assert messaging.messenger_post(page_event(psid, {"mid": "x", "text": "hi"}), secret="wrong").status_code == 403
    unsigned = requests.post(f"{messaging.bot.rasa.url}/webhooks/facebook/webhook", timeout=10,
                             json=page_event(psid, {"mid": "y", "text": "hi"}))
    assert unsigned.status_code == 403
    assert messaging.user_texts(psid) == []


def test_a_channel_without_its_settings_says_so(bot: Bot) -> None:
    answer = requests.post(f"{bot.rasa.url}/webhooks/twilio/webhook", data={"From": "+1", "Body": "hi"}, timeout=10)
    assert answer.status_code == 503 and "TWILIO_ACCOUNT_SID" in answer.json()["error"]


# --- the parts on their own ---------------------------------------------------------------
def test_long_texts_split_between_sentences_within_the_limit() -> None:
    text = " ".join(f"Sentence number {n} says something useful." for n in range(120))
    parts = split_text(text, 160)
    assert all(len(part) <= 160 for part in parts)
    assert all(part.endswith(".") for part in parts)
    assert " ".join(parts) == text
    word_soup = "x" * 50 + " " + "y" * 400
    assert all(len(p) <= 160 for p in split_text(word_soup, 160))
    assert "".join(split_text(word_soup, 160)).replace(" ", "") == word_soup.replace(" ", "")


def test_plain_text_replies() -> None:
    assert reply_text({"text": "Go now.", "custom": {"urgent": True}}) == "URGENT: Go now."
    assert reply_text({"text": "Hi", "custom": {"handoff": {"status": "waiting_for_staff"}}}) == "Hi"
    assert reply_text({"text": "Which?", "buttons": [{"title": "A", "payload": "/a"}]}) == (
        "Which?\n\nReply with a number:\n1. A")
    assert urgent_first([{"text": "hello"}, {"text": "911", "custom": {"urgent": True}}])[0]["text"] == "911"


def test_a_number_picks_only_an_option_still_open() -> None:
    offered = [BotUttered("Which?", {"buttons": [{"title": "A", "payload": "/a"}, {"title": "B", "payload": "/b"}]})]
    assert chosen_payload("2", offered) == "/b"
    assert chosen_payload(" 1. ", offered) == "/a"
    assert chosen_payload("3", offered) is None
    assert chosen_payload("2 sessions", offered) is None
    assert chosen_payload("2", offered + [UserUttered("/b")]) is None  # already answered
