"""When the assistant is not sure what the patient means: "did you mean", then a person."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_facts import clinic_slots
from clinic_assistant.clinic.topics import NOT_OFFERED, TOPIC_TITLES

MAX_CHOICES = 3
SOMETHING_ELSE = {"title": "Something else", "payload": "/request_human"}


def previous_bot_action(tracker: Tracker) -> str | None:
    """The last action before the latest patient message (action_listen aside)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def choices(parse: Dict[str, Any], most: int = MAX_CHOICES) -> List[Dict[str, str]]:
    """Buttons for the likeliest answers in the NLU ranking, most likely first."""
    buttons = []
    for ranked in parse.get("intent_ranking") or []:
        name = ranked.get("name")
        if name in NOT_OFFERED or name not in TOPIC_TITLES:
            continue
        payload = f"/{name}"
        if name == "ask_condition":
            entities = [e for e in parse.get("entities") or []
                        if e.get("entity") in ("condition", "other_condition")]
            if entities:
                payload += json.dumps({entities[0]["entity"]: entities[0]["value"]})
        buttons.append({"title": TOPIC_TITLES[name], "payload": payload})
        if len(buttons) == most:
            break
    return buttons


class ActionClarify(Action):
    """First miss: offer the likeliest topics. Second miss in a row: hand off."""

    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        if previous_bot_action(tracker) == self.name():
            dispatcher.utter_message(response="utter_clarify_handoff", **clinic_slots())
            return [SlotSet("handoff_reason", "not_understood"), FollowupAction("handoff_form")]
        buttons = choices(tracker.latest_message)
        dispatcher.utter_message(response="utter_did_you_mean", buttons=[*buttons, SOMETHING_ELSE])
        return []
