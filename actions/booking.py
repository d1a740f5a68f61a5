"""Booking requests: the form's checks, its questions, and sending the request.

The bot never books. It collects a request, saves it for staff, emails the front
desk, and tells the patient the clinic will contact them to confirm a time.
"""
from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Text
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_facts import clinic_profile, clinic_slots
from clinic_assistant.clinic.answers import CONDITION_INTENT, condition_from_entities, condition_response
from clinic_assistant.clinic.booking import (
    FIELDS,
    contact_text,
    field_to_change,
    is_non_answer,
    read_name,
    read_patient_type,
    UNSURE,
    read_preferred_times,
    staff_email,
    summary_lines,
)
from clinic_assistant.clinic.contact import parse_contact
from clinic_assistant.clinic.db import create_booking_request, engine_for
from clinic_assistant.clinic.outbox import deliver
from clinic_assistant.settings import Settings

logger = logging.getLogger(__name__)
MAX_MISSES = 3
BOOKING_SLOTS = [*FIELDS, "booking_confirmed", "booking_misses", "booking_changing",
                 "booking_reason_declined"]
_QUESTION = re.compile(r"\?\s*$|^\s*(what|how|why|when|where|who|which|is|are|do|does|can|"
                       r"could|will|would|should)\b", re.IGNORECASE)
_background: set[asyncio.Task[Any]] = set()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def answer_interruption(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Answers an FAQ or condition question asked in the middle of the form.

    Only a question counts (a question mark or a question word first), so answers
    like "mornings next week" are never mistaken for one. Returns True if answered.
    """
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name") or ""
    if not _QUESTION.search(message.get("text") or ""):
        return False
    if intent.startswith("faq_"):
        dispatcher.utter_message(response=f"utter_{intent}", **clinic_slots())
        return True
    if intent == CONDITION_INTENT:
        condition = condition_from_entities(message.get("entities") or [])
        dispatcher.utter_message(response=condition_response(condition), **clinic_slots())
        return True
    return False


class ValidateBookingForm(FormValidationAction):
    """Checks each answer; a bad one gets a re-ask that explains the format, and after
    three misses on one field the patient is offered a person or to cancel."""

    def name(self) -> Text:
        return "validate_booking_form"

    def _miss(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str,
              response: str, **values: Any) -> Dict[Text, Any]:
        misses = dict(tracker.get_slot("booking_misses") or {})
        misses[slot] = misses.get(slot, 0) + 1
        dispatcher.utter_message(response=response, **values)
        if misses[slot] >= MAX_MISSES:
            dispatcher.utter_message(response="utter_booking_offer_help")
        return {slot: None, "booking_misses": misses}

    def validate_booking_name(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: Dict[Text, Any]) -> Dict[Text, Any]:
        name = read_name(str(value or ""))
        if name:
            return {"booking_name": name, "contact_name": name}
        if answer_interruption(dispatcher, tracker):
            return {"booking_name": None}
        if is_non_answer(str(value or "")):  # "yes", "ok", "hi": a reply, not a name
            return self._miss(dispatcher, tracker, "booking_name", "utter_booking_name_not_a_name")
        return self._miss(dispatcher, tracker, "booking_name", "utter_booking_name_invalid")

    def validate_booking_contact(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: Dict[Text, Any]) -> Dict[Text, Any]:
        contact = parse_contact(str(value or ""))
        if contact.reachable:
            dispatcher.utter_message(response="utter_booking_contact_read_back",
                                     contact=contact_text(contact.phone, contact.email))
            return {"booking_contact": "given", "contact_phone": contact.phone,
                    "contact_email": contact.email}
        if answer_interruption(dispatcher, tracker):
            return {"booking_contact": None}
        return self._miss(dispatcher, tracker, "booking_contact", "utter_booking_contact_invalid")

    def validate_booking_times(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if answer_interruption(dispatcher, tracker):
            return {"booking_times": None}
        if not any(c.isalnum() for c in text) or len(text) > 200 or is_non_answer(text):
            return self._miss(dispatcher, tracker, "booking_times", "utter_booking_times_invalid")
        now = utc_now().astimezone(ZoneInfo(clinic_profile().timezone))
        times = read_preferred_times(text, now)
        if times.past and not times.days and not times.week_of:
            return self._miss(dispatcher, tracker, "booking_times", "utter_booking_times_past")
        summary = times.summary()
        dispatcher.utter_message(response="utter_booking_times_read_back", times=summary)
        return {"booking_times": summary}

    def validate_booking_reason(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: Dict[Text, Any]) -> Dict[Text, Any]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        condition = tracker.get_slot("condition")
        asked_to_confirm = condition and not tracker.get_slot("booking_reason_declined")
        if asked_to_confirm and intent == "affirm":
            return {"booking_reason": condition}
        if asked_to_confirm and intent == "deny":
            return {"booking_reason": None, "booking_reason_declined": True}
        text = str(value or "").strip()
        if intent != CONDITION_INTENT and answer_interruption(dispatcher, tracker):
            return {"booking_reason": None}
        if not any(c.isalpha() for c in text) or len(text) > 300 or is_non_answer(text):
            return self._miss(dispatcher, tracker, "booking_reason", "utter_booking_reason_invalid")
        return {"booking_reason": text}

    def validate_booking_patient_type(self, value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker,
                                      domain: Dict[Text, Any]) -> Dict[Text, Any]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        patient_type = read_patient_type(str(value or ""))
        if patient_type is None and intent in ("affirm", "deny") and not UNSURE.search(str(value or "")):
            # "Have you been to our clinic before?" yes -> returning, no -> new
            patient_type = "returning" if intent == "affirm" else "new"
        if patient_type:
            return {"booking_patient_type": patient_type}
        if answer_interruption(dispatcher, tracker):
            return {"booking_patient_type": None}
        return self._miss(dispatcher, tracker, "booking_patient_type",
                          "utter_booking_patient_type_invalid")

    def validate_booking_confirmed(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker,
                                   domain: Dict[Text, Any]) -> Dict[Text, Any]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if tracker.get_slot("booking_changing"):
            slot = field_to_change(str(value or ""))
            if slot is None:
                dispatcher.utter_message(response="utter_booking_what_to_change")
                return {"booking_confirmed": None}
            changes: Dict[Text, Any] = {slot: None, "booking_confirmed": None,
                                        "booking_changing": False}
            if slot == "booking_contact":
                changes.update(contact_phone=None, contact_email=None)
            if slot == "booking_reason":
                changes["booking_reason_declined"] = True
            return changes
        if intent == "affirm":
            return {"booking_confirmed": "yes"}
        if intent == "deny":
            dispatcher.utter_message(response="utter_booking_what_to_change")
            return {"booking_confirmed": None, "booking_changing": True}
        if answer_interruption(dispatcher, tracker):
            return {"booking_confirmed": None}
        return {"booking_confirmed": None}


class ActionAskBookingReason(Action):
    """Asks the reason for the visit, or confirms the condition already named."""

    def name(self) -> Text:
        return "action_ask_booking_reason"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        condition = tracker.get_slot("condition")
        if condition and not tracker.get_slot("booking_reason_declined"):
            dispatcher.utter_message(response="utter_ask_booking_reason_confirm",
                                     condition=condition)
        else:
            dispatcher.utter_message(response="utter_ask_booking_reason")
        return []


class ActionAskBookingConfirmed(Action):
    """Shows the whole request and asks whether to send it."""

    def name(self) -> Text:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot("booking_changing"):
            return []  # "What would you like to change?" was just asked
        summary = "\n".join(summary_lines(tracker.current_slot_values()))
        dispatcher.utter_message(response="utter_booking_summary", summary=summary)
        return []


class ActionResetBooking(Action):
    """Forgets the booking answers (after sending, or when the patient cancels)."""

    def name(self) -> Text:
        return "action_reset_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return [SlotSet(slot, None) for slot in BOOKING_SLOTS]


class ActionSubmitBooking(Action):
    """Saves the request with its staff email in the outbox, then tells the patient; the
    email goes out in the background (clinic_assistant/clinic/outbox.py) without making them wait."""

    def name(self) -> Text:
        return "action_submit_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        slots = tracker.current_slot_values()
        reset = [SlotSet(slot, None) for slot in BOOKING_SLOTS]
        channel = tracker.get_latest_input_channel() or "unknown"
        profile = clinic_profile()

        def email_for(request_id: int) -> tuple[str, str]:
            return staff_email(request_id, slots, tracker.sender_id, channel, profile.name)

        try:
            request_id = await asyncio.to_thread(
                create_booking_request,
                engine_for(Settings.from_env().database.url),
                conversation_id=tracker.sender_id,
                channel=channel,
                name=slots["booking_name"],
                phone=slots.get("contact_phone"),
                email=slots.get("contact_email"),
                preferred_times=slots["booking_times"],
                reason=slots["booking_reason"],
                patient_type=slots["booking_patient_type"],
                staff_email=email_for,  # into the outbox, in the same transaction
            )
        except Exception:
            logger.exception("could not save the booking request of %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_booking_save_failed", **clinic_slots())
            return reset
        task = asyncio.create_task(deliver(request_id))  # now; the outbox worker if this process stops
        _background.add(task)
        task.add_done_callback(_background.discard)
        dispatcher.utter_message(
            response="utter_booking_sent",
            name=slots["booking_name"],
            contact=contact_text(slots.get("contact_phone"), slots.get("contact_email")),
            **clinic_slots(),
        )
        return reset
