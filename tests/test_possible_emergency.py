"""A 911 alarm of the red-flag classifier alone, on a message the bot also understood
as a question or statement it can answer: the emergency reply first, then general
information and a closing safety line (data/rules/safety.yml, actions/after_alarm.py).
Everything else keeps the emergency reply alone."""
from __future__ import annotations

import uuid
from typing import Any, Callable

import pytest
import yaml

from actions.after_alarm import earlier_red_flag
from clinic_assistant.clinic.answers import (
    RED_FLAG_ANSWERS,
    answer_after_alarm,
    answer_key,
    answers_after_alarm,
    closing_after_alarm,
)
from clinic_assistant.settings import PROJECT_ROOT
from clinic_assistant.triage import POSSIBLE_EMERGENCY_INTENT, TIER_INTENTS, Triage
from tests.harness.servers import Bot, texts

# Ordinary sciatica, which the classifier alone sends to 911; the rules read nothing.
SCIATICA = "pain shoots from my bum down the back of my right leg"
GOUT = "gout in my left big toe again"
SESSIONS = "is it a one-time thing or will I need to keep coming in?"


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage.load()


def test_a_classifier_alarm_on_a_long_standing_statement_may_be_answered(triage: Triage) -> None:
    for text in (SCIATICA, GOUT):
        assessment = triage.assess(text)
        assert assessment.tier == "911"
        assert [f.source for f in assessment.findings] == ["classifier"]
        assert assessment.answer_may_follow


@pytest.mark.parametrize("text", [
    # the same words with a sign of something new or acute: the emergency reply alone
    "pain shoots from my bum down the back of my leg since yesterday",
    # the classifier sure (0.75 or more): train and dev emergencies it alone caught in
    # such plain words scored 0.79 and more
    "I've got pain shooting down the back of my right leg from my bum",
    # a household with headaches from the furnace: carbon monoxide
    "my whole family keeps getting headaches from the furnace",
    # the rules' findings
    "crushing chest pain and my left arm is numb",
    "my back hurts and I can't pee and it's numb when I wipe",
    # a crisis
    "my fibro is so bad I want to kill myself",
])
def test_no_answer_follows_an_acute_or_rules_finding(triage: Triage, text: str) -> None:
    assessment = triage.assess(text)
    assert assessment.urgent
    assert not assessment.answer_may_follow


REVIEW = yaml.safe_load((PROJECT_ROOT / "tests" / "safety" / "possible_emergency_review.yml").read_text())


@pytest.mark.parametrize("item", REVIEW["emergencies"], ids=lambda i: i["category"])
def test_a_reviewers_emergencies_get_the_emergency_reply_alone(triage: Triage, item: dict[str, str]) -> None:
    assessment = triage.assess(item["text"])
    assert assessment.tier == "911", (item["text"], assessment.findings)
    assert not assessment.answer_may_follow


@pytest.mark.parametrize("text", REVIEW["everyday"])
def test_a_reviewers_everyday_messages_get_no_alarm(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier is None


def test_the_red_flag_answers_are_the_tiers_intents() -> None:
    assert RED_FLAG_ANSWERS == set(TIER_INTENTS.values())


def test_which_answers_may_follow() -> None:
    assert answers_after_alarm("ask_condition")
    assert answers_after_alarm("faq_price")
    # reassuring after needling, or inviting a wait, or about how serious a symptom is
    for intent in ("faq_soreness_after", "faq_aftercare", "faq_comfort_and_safety",
                   "faq_medical_advice", "faq_availability", "request_booking", "out_of_scope",
                   "greet", None):
        assert not answers_after_alarm(intent)
    assert closing_after_alarm("condition/sciatica and nerve pain") == "utter_after_alarm_closing_nerve"
    assert closing_after_alarm("condition/headaches and migraines") == "utter_after_alarm_closing_headache"
    assert closing_after_alarm("condition/unlisted") == "utter_after_alarm_closing"
    assert closing_after_alarm("faq_price") == "utter_after_alarm_closing"


def test_the_answer_after_an_alarm_is_read_from_the_triage_record() -> None:
    parse = {"intent": {"name": POSSIBLE_EMERGENCY_INTENT, "confidence": 1.0},
             "entities": [{"entity": "condition", "value": "sciatica and nerve pain"},
                          {"entity": "red_flag", "value": "cauda_equina"}],
             "triage": {"tier": "911", "answer_after": {"name": "ask_condition", "confidence": 0.9}}}
    assert answer_key(parse) == "red_flag_emergency"
    assert answer_after_alarm(parse) == "condition/sciatica and nerve pain"
    # an answer that may not follow is never given, whatever the record says
    parse["triage"]["answer_after"] = {"name": "faq_soreness_after", "confidence": 0.9}
    assert answer_after_alarm(parse) is None
    assert answer_after_alarm({"intent": {"name": "red_flag_emergency"}, "triage": {}}) is None


async def test_the_pipeline_keeps_what_it_understood(nlu_agent: Any) -> None:
    parsed = await nlu_agent.parse_message(SCIATICA)
    assert parsed["intent"]["name"] == POSSIBLE_EMERGENCY_INTENT
    assert parsed["triage"]["answer_after"]["name"] == "ask_condition"
    assert answer_key(parsed) == "red_flag_emergency"
    assert answer_after_alarm(parsed) == "condition/sciatica and nerve pain"
    # the same alarm with "since yesterday": the emergency reply alone
    parsed = await nlu_agent.parse_message(
        "pain shoots from my bum down the back of my leg since yesterday")
    assert parsed["intent"]["name"] == "red_flag_emergency"
    assert "answer_after" not in parsed["triage"]


def test_a_message_first_read_as_soreness_after_needling_gets_the_emergency_reply_alone() -> None:
    """The classifier read it as soreness after needling (the "after"); ConditionStatementResolver
    made it a back-pain statement, which may follow an alarm; the first reading decides: a
    collapsed lung after needling can feel like soreness (dev round 8's wording). Checked
    on the component with both first readings: which one the classifier gives this
    wording moves with the training data."""
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from clinic_assistant.rasa.components import READ_FIRST_AS, RedFlagTriage

    component = RedFlagTriage(RedFlagTriage.get_default_config())
    text = "the ache in my low back won't stop after long days seeding"
    decided = {}
    for first in ("faq_soreness_after", "ask_condition"):
        message = Message(data={TEXT: text, INTENT: {"name": "ask_condition", "confidence": 0.9},
                                READ_FIRST_AS: first})
        component.process([message])
        decided[first] = (message.get(INTENT)["name"], "answer_after" in (message.get("triage") or {}))
    assert decided == {"faq_soreness_after": ("red_flag_emergency", False),
                       "ask_condition": (POSSIBLE_EMERGENCY_INTENT, True)}


def test_earlier_red_flag_looks_only_at_this_session() -> None:
    class FakeTracker:
        def __init__(self, events: list[dict[str, Any]]) -> None:
            self.events = events

    def user(intent: str) -> dict[str, Any]:
        return {"event": "user", "parse_data": {"intent": {"name": intent}}}

    assert not earlier_red_flag(FakeTracker([user("greet"), user(POSSIBLE_EMERGENCY_INTENT)]))
    assert earlier_red_flag(FakeTracker([user("red_flag_emergency"), user("greet"),
                                         user(POSSIBLE_EMERGENCY_INTENT)]))
    assert not earlier_red_flag(FakeTracker([user("red_flag_emergency"), {"event": "session_started"},
                                             user(POSSIBLE_EMERGENCY_INTENT)]))


# --- end to end over REST (Rasa server and action server) -------------------------------

def new_sender() -> str:
    return f"rest:maybe-{uuid.uuid4().hex[:10]}"


def test_emergency_reply_first_then_information_then_a_closing_safety_line(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    replies = bot.send(sender, SCIATICA)
    assert texts(replies) == [
        expected_text("utter_red_flag_emergency"),
        expected_text("utter_red_flag_then_answer"),
        expected_text("utter_condition_sciatica"),
        expected_text("utter_after_alarm_closing_nerve"),
    ]
    # no booking button on this path: it would say that it can wait
    assert not any(r.get("buttons") for r in replies)
    # marked urgent (the widget's red "Urgent" bubble): the emergency reply and the closing line
    # (over REST a reply's custom data follows its text as its own message)
    urgent = [replies[i - 1].get("text") for i, r in enumerate(replies)
              if (r.get("custom") or {}).get("urgent")]
    assert urgent == [expected_text("utter_red_flag_emergency"),
                      expected_text("utter_after_alarm_closing_nerve")]
    # a second alarm in the same conversation: the emergency reply alone
    assert texts(bot.send(sender, GOUT)) == [expected_text("utter_red_flag_emergency")]


def test_an_unlisted_condition_gets_the_general_closing_line(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "hello")
    assert texts(bot.send(sender, GOUT)) == [
        expected_text("utter_red_flag_emergency"),
        expected_text("utter_red_flag_then_answer"),
        # its own text: the usual one invites booking
        expected_text("utter_condition_unlisted_after_alarm"),
        expected_text("utter_after_alarm_closing"),
    ]


def test_an_faq_answer_follows_without_its_booking_button(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    # a sessions question the classifier wrongly reads as an emergency
    replies = bot.send(sender, SESSIONS)
    assert texts(replies) == [
        expected_text("utter_red_flag_emergency"),
        expected_text("utter_red_flag_then_answer"),
        expected_text("utter_faq_number_of_sessions"),
        expected_text("utter_after_alarm_closing"),
    ]
    assert not any(r.get("buttons") for r in replies)


def test_while_giving_contact_details_the_alarm_ends_the_questions_with_no_answer(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "talk to someone")
    assert texts(bot.send(sender, SCIATICA)) == [expected_text("utter_red_flag_emergency")]
    assert texts(bot.send(sender, "where are you located")) == [expected_text("utter_faq_location")]


def test_during_a_booking_request_the_alarm_ends_it_with_no_answer(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "I'd like to book an appointment")
    assert texts(bot.send(sender, SCIATICA)) == [expected_text("utter_red_flag_emergency")]
    # the booking questions ended: the next question is answered normally
    assert texts(bot.send(sender, "where are you located")) == [expected_text("utter_faq_location")]


def test_while_staff_have_the_conversation_the_alarm_gets_the_emergency_reply_alone(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    bot.send(sender, "I want to talk to a human")
    bot.send(sender, "skip")  # no contact details: the conversation is handed off
    assert texts(bot.send(sender, SCIATICA)) == [expected_text("utter_red_flag_emergency")]
