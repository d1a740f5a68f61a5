"""Short titles of the answers, for "did you mean" buttons and for staff screens."""
from __future__ import annotations

from pathlib import Path

import yaml


def domain_intents(folder: Path) -> list[str]:
    """The intents of a domain folder's files, in file order, each once."""
    names: list[str] = []
    for path in sorted(folder.glob("*.yml")):
        for intent in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intents") or []:
            name = intent if isinstance(intent, str) else next(iter(intent))
            if name not in names:
                names.append(name)
    return names

TOPIC_TITLES: dict[str, str] = {
    "faq_what_is_dry_needling": "What dry needling is",
    "faq_how_it_works": "How it works",
    "faq_trigger_points": "Trigger points and knots",
    "faq_blood_circulation": "Blood circulation",
    "faq_why_circulation_matters": "Why circulation matters",
    "faq_healing_recovery": "Healing and recovery",
    "faq_inflammation": "Inflammation",
    "faq_pain_relief": "Pain relief",
    "faq_mobility": "Movement and flexibility",
    "faq_conditions_overview": "Conditions it can help",
    "faq_treatment_plan": "Part of a treatment plan",
    "faq_session_what_happens": "What happens in a session",
    "faq_comfort_and_safety": "Does it hurt? Is it safe?",
    "faq_aftercare": "Aftercare",
    "faq_soreness_after": "Soreness after needling",
    "faq_why_this_clinic": "Why our clinic",
    "faq_ims": "IMS (intramuscular stimulation)",
    "faq_location": "Where we are",
    "faq_contact": "Contact details",
    "faq_hours": "Opening hours",
    "faq_bot_identity": "Who I am",
    "faq_price": "Prices",
    "faq_insurance": "Insurance and billing",
    "faq_number_of_sessions": "How many sessions",
    "faq_availability": "Availability and waiting times",
    "faq_parking": "Parking",
    "faq_medical_advice": "Medication or personal advice",
    "ask_condition": "Whether it can help my condition",
    "request_booking": "Booking an appointment",
    "request_human": "Talking to a person",
}

# Intents that are never offered as "did you mean" choices.
NOT_OFFERED = frozenset(
    {"nlu_fallback", "out_of_scope", "unclear", "message_too_long", "greet", "goodbye",
     "thank", "affirm", "deny", "request_human"}
)
