"""Which answer a patient's message gets: one function used by the action server and
by the held-out evaluation, so that what is measured is what patients receive.

An *answer key* names one answer:
- ``condition/<canonical condition>`` or ``condition/unlisted`` for "can dry needling
  help with X?", chosen from the entities of the clinic spaCy pipeline;
- the intent's name for everything else: ``faq_<topic>`` (each FAQ topic is its own
  intent with its own response), ``greet``, ``request_booking``, ...
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

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


def answer_key(parse: Mapping[str, Any]) -> str:
    """The answer key for one parsed message (Rasa's parse result)."""
    intent = (parse.get("intent") or {}).get("name") or ""
    if intent == CONDITION_INTENT:
        return f"condition/{condition_from_entities(parse.get('entities') or [])}"
    return intent
