"""Which answer a patient's message gets: functions used by the action server and by
the held-out evaluation, so that what is measured is what patients receive
(``answer_key``; ``answer_after_alarm`` for the answer after a possible emergency).

An *answer key* names one answer:
- ``condition/<canonical condition>`` or ``condition/unlisted`` for "can dry needling
  help with X?", chosen from the entities of the clinic spaCy pipeline;
- the intent's name for everything else: ``faq_<topic>`` (each FAQ topic is its own
  intent with its own response), ``greet``, ``request_booking``, ...
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

# The conditions on the clinic's page, with the response that answers each one.
CONDITION_RESPONSES: dict[str, str] = {
    "chronic muscle pain": "utter_condition_chronic_muscle_pain",
    "sports injury": "utter_condition_sports_injury",
    "post-surgical rehabilitation": "utter_condition_post_surgical",
    "headaches and migraines": "utter_condition_headaches",
    "fibromyalgia": "utter_condition_fibromyalgia",
    "TMJ dysfunction": "utter_condition_tmj",
    "sciatica and nerve pain": "utter_condition_sciatica",
}
UNLISTED = "unlisted"
UNLISTED_RESPONSE = "utter_condition_unlisted"

# The page names "tension in the neck, back, or shoulders" as chronic muscle pain, so
# a question about one of these body parts gets that answer.
MUSCLE_PAIN_BODY_PARTS = frozenset({"neck", "back", "lower back", "upper back", "shoulder"})
# ... and "TMJ (jaw) problems", so a complaint at the jaw gets the TMJ answer.
JAW_BODY_PARTS = frozenset({"jaw"})

CONDITION_INTENT = "ask_condition"


GENERAL_CONDITION = "chronic muscle pain"


def condition_from_entities(entities: Iterable[Mapping[str, Any]]) -> str:
    """The canonical condition a message is about, or ``UNLISTED``.

    A condition from the clinic's list wins; otherwise a neck, back or shoulder
    complaint counts as chronic muscle pain and a jaw complaint as TMJ dysfunction;
    anything else (a condition that is not
    on the list, or none recognised) is ``UNLISTED``: the assistant then makes no
    claim either way.
    """
    entities = list(entities)
    listed = [str(e["value"]) for e in entities
              if e.get("entity") == "condition" and e.get("value") in CONDITION_RESPONSES]
    if listed:
        # the named condition over the general one: "the all-over muscle pain that comes
        # with fibro" is about fibromyalgia
        return next((c for c in listed if c != GENERAL_CONDITION), listed[0])
    if any(e.get("entity") == "other_condition" for e in entities):
        return UNLISTED
    for entity in entities:
        if entity.get("entity") == "body_part" and entity.get("value") in MUSCLE_PAIN_BODY_PARTS:
            return "chronic muscle pain"
        if entity.get("entity") == "body_part" and entity.get("value") in JAW_BODY_PARTS:
            return "TMJ dysfunction"
    return UNLISTED


def condition_response(condition: str) -> str:
    """The response name that answers a canonical condition (or ``UNLISTED``)."""
    return CONDITION_RESPONSES.get(condition, UNLISTED_RESPONSE)


# The answers that may follow a possible-emergency reply (below), as general information
# between the emergency reply and a closing safety line (actions/after_alarm.py): the
# condition answers and the FAQ topics about the treatment and the clinic. Never those
# about how a patient feels after needling, safety, aftercare or how serious a symptom
# is, whose words ("common", "usually settles", "safety comes first") would read as
# reassurance beside a possible emergency (a pneumothorax after needling near the chest
# can feel like soreness), nor availability, which invites waiting for an appointment.
FAQ_AFTER_ALARM = frozenset({
    "faq_what_is_dry_needling", "faq_how_it_works", "faq_trigger_points",
    "faq_blood_circulation", "faq_why_circulation_matters", "faq_healing_recovery",
    "faq_inflammation", "faq_pain_relief", "faq_mobility", "faq_conditions_overview",
    "faq_treatment_plan", "faq_number_of_sessions", "faq_session_what_happens",
    "faq_price", "faq_insurance", "faq_location", "faq_contact", "faq_hours",
    "faq_parking", "faq_why_this_clinic", "faq_ims", "faq_bot_identity"})
# The safety line that closes the answer after a possible-emergency reply: the warning
# signs of the condition answered (clinic_assistant/triage/README.md), else general ones.
CLOSING_AFTER_ALARM: dict[str, str] = {
    "sciatica and nerve pain": "utter_after_alarm_closing_nerve",
    "headaches and migraines": "utter_after_alarm_closing_headache",
    "post-surgical rehabilitation": "utter_after_alarm_closing_surgery",
}
CLOSING_AFTER_ALARM_DEFAULT = "utter_after_alarm_closing"
# Answers whose text invites booking have their own text after a possible emergency.
AFTER_ALARM_TEXTS = {UNLISTED_RESPONSE: "utter_condition_unlisted_after_alarm"}
# The reply keys of the red-flag tiers (clinic_assistant/triage/__init__.py: TIER_INTENTS)
# and the possible emergency; here so that the action server and the evaluation need not
# load the triage.
RED_FLAG_ANSWERS = frozenset({"red_flag_emergency", "red_flag_same_day", "red_flag_crisis"})
# A response value an action passes to ask for the response's text without its buttons
# (clinic_assistant/rasa/nlg.py): an answer after a possible-emergency reply offers no
# booking, which would say it can wait.
WITHOUT_BUTTONS = "without_buttons"
# Rasa's intent for a 911 alarm of the triage classifier alone on a message the bot also
# understood (clinic_assistant/triage/__init__.py); the emergency reply comes first.
POSSIBLE_EMERGENCY_INTENT = "red_flag_possible_emergency"
EMERGENCY_INTENT = "red_flag_emergency"


def answers_after_alarm(intent: Optional[str]) -> bool:
    """Whether the answer of ``intent`` may follow the emergency reply when the triage
    classifier alone raised the alarm: a condition answer or one of FAQ_AFTER_ALARM."""
    return intent == CONDITION_INTENT or intent in FAQ_AFTER_ALARM


def response_after_alarm(answer: str) -> str:
    """The response that gives ``answer`` (an answer key) after a possible-emergency reply."""
    condition = _condition_of(answer)
    response = condition_response(condition) if condition else f"utter_{answer}"
    return AFTER_ALARM_TEXTS.get(response, response)


def _condition_of(answer: str) -> str:
    """The condition of a ``condition/<condition>`` answer key, or ""."""
    return answer.split("/", 1)[1] if answer.startswith("condition/") else ""


def closing_after_alarm(answer: str) -> str:
    """The response that closes an answer given after a possible-emergency reply."""
    return CLOSING_AFTER_ALARM.get(_condition_of(answer), CLOSING_AFTER_ALARM_DEFAULT)


def answer_key(parse: Mapping[str, Any]) -> str:
    """The answer key for one parsed message (Rasa's parse result); for a possible
    emergency, the emergency reply's (its answer follows: ``answer_after_alarm``)."""
    intent = (parse.get("intent") or {}).get("name") or ""
    if intent == CONDITION_INTENT:
        return f"condition/{condition_from_entities(parse.get('entities') or [])}"
    if intent == POSSIBLE_EMERGENCY_INTENT:
        return EMERGENCY_INTENT
    return intent


def answer_after_alarm(parse: Mapping[str, Any]) -> Optional[str]:
    """For a possible emergency, the answer key of what follows the emergency reply
    (the message as the bot understood it, before the triage); otherwise None."""
    if (parse.get("intent") or {}).get("name") != POSSIBLE_EMERGENCY_INTENT:
        return None
    understood = ((parse.get("triage") or {}).get("answer_after") or {}).get("name")
    if not answers_after_alarm(understood):
        return None
    return answer_key({**parse, "intent": {"name": understood}})
