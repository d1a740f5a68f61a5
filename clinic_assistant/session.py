"""What starts a conversation, shared by the action server's action_session_start and
the Rasa server's fallback for when the action server cannot be reached."""
from __future__ import annotations

from typing import Any

from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from clinic_assistant.profile import ClinicProfile

DISCLAIMER_RESPONSE = "utter_disclaimer"


def session_start_events(profile: ClinicProfile) -> list[dict[str, Any]]:
    """The events of a new session, as plain dicts: session started, the clinic's
    facts in their slots, then listen."""
    return [
        SessionStarted(),
        *(SlotSet(name, value) for name, value in profile.as_slots().items()),
        ActionExecuted("action_listen"),
    ]


def action_failed_text(profile: ClinicProfile) -> str:
    """What the patient reads when a step of the conversation fails on our side."""
    return (
        "Sorry, something went wrong on my side and I can't help with that right now. "
        f"Please call us at {profile.phone}, or try again in a few minutes."
    )
