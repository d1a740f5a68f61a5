"""Answers "can dry needling help with ...?" for the condition the patient named."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_facts import clinic_slots
from clinic_assistant.clinic.answers import condition_from_entities, condition_response


class ActionAnswerCondition(Action):
    """Picks the condition answer from the entities of the latest message.

    A condition on the clinic's list gets its own answer; anything else gets the
    honest "a physiotherapist assesses each patient" answer, never a yes.
    """

    def name(self) -> Text:
        return "action_answer_condition"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        entities = tracker.latest_message.get("entities") or []
        condition = condition_from_entities(entities)
        dispatcher.utter_message(response=condition_response(condition), **clinic_slots())
        return []
