"""Opening hours: for one day when the patient names one ("are you open on Boxing
Day?", "what time do you open tomorrow?"), else the week's hours (utter_faq_hours).
Only the clinic's own hours and closures are stated (clinic_assistant/clinic/hours.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_facts import clinic_profile
from clinic_assistant.clinic.hours import asked_day, hours_answer


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ActionAnswerHours(Action):  # type: ignore[misc]  # rasa_sdk has no type hints
    def name(self) -> Text:
        return "action_answer_hours"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        profile = clinic_profile()
        slots = profile.as_slots()
        asked = asked_day(tracker.latest_message.get("text") or "", profile, utc_now())
        if asked is None or not profile.hours:  # no day named, or no hours listed to answer from
            dispatcher.utter_message(response="utter_faq_hours", **slots)
        else:
            response, values = hours_answer(profile, asked)
            dispatcher.utter_message(response=response, **slots, **values)
        return []
