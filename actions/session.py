"""The start of every conversation: clinic facts into slots, and who the patient is talking to."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_facts import clinic_slots


class ActionSessionStart(Action):
    """Starts a session: fills the clinic_* slots and sends the first-contact line."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        slots = clinic_slots()
        # The tracker does not hold the new slot values yet when Rasa renders this
        # response, so the values go along with it.
        dispatcher.utter_message(response="utter_disclaimer", **slots)
        return [
            SessionStarted(),
            *(SlotSet(name, value) for name, value in slots.items()),
            ActionExecuted("action_listen"),
        ]
