"""Handing a conversation to clinic staff: contact details, the ticket, what happens next."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_facts import clinic_profile
from clinic_assistant.clinic.contact import format_phone, is_skip, parse_contact
from clinic_assistant.clinic.db import create_handoff_ticket, engine_for
from clinic_assistant.settings import Settings

logger = logging.getLogger(__name__)
LAST_MESSAGES = 10
SKIPPED = "skipped"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def last_messages(tracker: Tracker, count: int = LAST_MESSAGES) -> List[Dict[str, Any]]:
    """The conversation's last messages, oldest first, for staff to read."""
    messages = [
        {"from": "patient" if e["event"] == "user" else "bot",
         "text": e.get("text") or "", "time": e.get("timestamp")}
        for e in tracker.events
        if e.get("event") in ("user", "bot") and e.get("text")
    ]
    return messages[-count:]


class ValidateHandoffForm(FormValidationAction):
    """Reads a name and a phone number or email from one message; "skip" is fine."""

    def name(self) -> Text:
        return "validate_handoff_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[Text]:
        if tracker.get_slot("contact_phone") or tracker.get_slot("contact_email"):
            return []  # the patient already gave a way to reach them
        return domain_slots

    def validate_handoff_contact(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> Dict[Text, Any]:
        text = str(value or "")
        if is_skip(text):
            return {"handoff_contact": SKIPPED}
        contact = parse_contact(text)
        if contact.reachable:
            return {
                "handoff_contact": "given",
                "contact_name": contact.name or tracker.get_slot("contact_name"),
                "contact_phone": contact.phone,
                "contact_email": contact.email,
            }
        misses = int(tracker.get_slot("handoff_contact_misses") or 0) + 1
        if misses >= 2:
            dispatcher.utter_message(response="utter_handoff_without_contact")
            return {"handoff_contact": SKIPPED, "handoff_contact_misses": misses}
        dispatcher.utter_message(response="utter_handoff_contact_invalid")
        return {"handoff_contact": None, "handoff_contact_misses": misses}


class ActionHandoff(Action):
    """Records the handoff ticket and tells the patient what happens next."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        profile = clinic_profile()
        slots = profile.as_slots()
        phone: Optional[str] = tracker.get_slot("contact_phone")
        try:
            ticket_id = await asyncio.to_thread(
                create_handoff_ticket,
                engine_for(Settings.from_env().database.url),
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "unknown",
                reason=tracker.get_slot("handoff_reason") or "patient_asked",
                last_messages=last_messages(tracker),
                contact_name=tracker.get_slot("contact_name"),
                contact_phone=phone,
                contact_email=tracker.get_slot("contact_email"),
                urgent=bool(tracker.get_slot("urgent")),
            )
        except Exception:  # the patient must not be told it was passed on
            logger.exception("could not save the handoff ticket for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_handoff_failed", **slots)
            return [SlotSet("handoff_contact", None), SlotSet("handoff_reason", None)]

        now = utc_now()
        open_now = profile.is_open(now)
        contact_line = ""
        if phone:
            call_back = (domain.get("responses", {}).get("utter_handoff_call_back") or [{}])[0].get("text", "")
            contact_line = " " + call_back.format(callback_phone=format_phone(phone)) if call_back else ""
        if open_now:
            dispatcher.utter_message(response="utter_handoff_open", contact_line=contact_line, **slots)
        else:
            dispatcher.utter_message(
                response="utter_handoff_closed",
                next_opening=profile.opening_text(now),
                contact_line=contact_line,
                **slots,
            )
        dispatcher.utter_message(
            json_message={
                "handoff": {
                    "ticket_id": ticket_id,
                    "status": "waiting_for_staff",
                    "clinic_open": open_now,
                    "reply_expected": "soon" if open_now else profile.opening_text(now),
                }
            }
        )
        return [
            SlotSet("handoff_active", True),
            SlotSet("handoff_contact", None),
            SlotSet("handoff_contact_misses", None),
            SlotSet("handoff_reason", None),
        ]
