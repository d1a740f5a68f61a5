"""The answer after a possible emergency: when the red-flag triage's classifier alone
raised a 911 alarm on a message the bot also understood as a question or statement it
can answer ("I have gout in my big toe"), the emergency reply has gone out first
(``utter_red_flag_emergency``, from the domain: data/rules/safety.yml). This action then
sends, as general information:

1. ``utter_red_flag_then_answer``: if unsure, treat it as an emergency; what follows is
   for something long-standing that hasn't suddenly changed;
2. the answer the message would have had, without its booking button (booking implies
   it can wait);
3. a closing safety line, urgent like the emergency reply: the warning signs of the
   condition answered, or general ones (``closing_after_alarm``).

The emergency reply stays alone (this action sends nothing) while staff have the
conversation, and when an earlier message of the session already raised a red flag.
Which messages and which answers qualify: ``clinic_assistant.triage.Triage`` and
``clinic_assistant.clinic.answers.answers_after_alarm``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_facts import clinic_slots
from actions.hours import ActionAnswerHours
from clinic_assistant.clinic.answers import (
    POSSIBLE_EMERGENCY_INTENT,
    RED_FLAG_ANSWERS,
    WITHOUT_BUTTONS,
    answer_after_alarm,
    closing_after_alarm,
    response_after_alarm,
)

RED_FLAG_INTENTS = RED_FLAG_ANSWERS | {POSSIBLE_EMERGENCY_INTENT}

BRIDGE = "utter_red_flag_then_answer"


def earlier_red_flag(tracker: Tracker) -> bool:
    """Whether a patient message before the latest one, in this session, raised a red flag."""
    users = []
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "user":
            users.append(event)
    return any(((e.get("parse_data") or {}).get("intent") or {}).get("name") in RED_FLAG_INTENTS
               for e in users[1:])


class ActionAnswerAfterAlarm(Action):  # type: ignore[misc]  # rasa_sdk has no type hints
    def name(self) -> Text:
        return "action_answer_after_alarm"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        if tracker.get_slot("handoff_active") or earlier_red_flag(tracker):
            return []
        answer = answer_after_alarm(tracker.latest_message)
        if answer is None:
            return []
        slots = clinic_slots()
        dispatcher.utter_message(response=BRIDGE, **slots)
        if answer == "faq_hours":
            await ActionAnswerHours().run(dispatcher, tracker, domain)
        else:
            # the answer's text as staff last approved it, without its booking button
            dispatcher.utter_message(response=response_after_alarm(answer), **slots,
                                     **{WITHOUT_BUTTONS: True})
        dispatcher.utter_message(response=closing_after_alarm(answer), **slots)
        return []
