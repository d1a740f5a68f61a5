"""What starts a conversation, shared by the action server's action_session_start and
the Rasa server's fallback for when the action server cannot be reached."""
from __future__ import annotations

from typing import Any

from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from clinic_assistant.clinic.profile import ClinicProfile

DISCLAIMER_RESPONSE = "utter_disclaimer"


def session_start_events(profile: ClinicProfile) -> list[dict[str, Any]]:
    """The events of a new session, as plain dicts: session started, the clinic's
    facts in their slots, then listen."""
    return [
        SessionStarted(),
        *(SlotSet(name, value) for name, value in profile.as_slots().items()),
        ActionExecuted("action_listen"),
    ]


ACTION_FAILED_RESPONSE = "utter_action_failed"
# Only if domain/ itself cannot be read while something else is failing: the patient
# must still get the phone number.
_LAST_RESORT = "Sorry, something went wrong on my side. Please call us at {clinic_phone}."


def action_failed_text(profile: ClinicProfile) -> str:
    """What the patient reads when a step of the conversation fails on our side: the
    ``utter_action_failed`` response of domain/ as it is on disk, with the phone."""
    from rasa.shared.core.domain import Domain

    from clinic_assistant.rasa.nlg import responses_dir

    text = _LAST_RESORT
    try:  # the same reading of domain/ as the live answer texts (clinic_assistant/rasa/nlg.py)
        text = Domain.load(str(responses_dir())).responses[ACTION_FAILED_RESPONSE][0]["text"]
    except Exception:  # noqa: BLE001 - something else is already failing; the phone still goes out
        pass
    return text.format(clinic_phone=profile.phone)
