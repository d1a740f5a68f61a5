"""The start of every conversation: clinic facts into slots, and who the patient is talking to."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_facts import clinic_profile
from clinic_assistant.clinic.session import DISCLAIMER_RESPONSE, session_start_events


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
        profile = clinic_profile()
        # The tracker does not hold the new slot values yet when Rasa renders this
        # response, so the values go along with it.
        dispatcher.utter_message(response=DISCLAIMER_RESPONSE, **profile.as_slots())
        return session_start_events(profile)
