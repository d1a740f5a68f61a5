"""The clinic profile as the actions see it: read through the one settings object."""
from __future__ import annotations

from clinic_assistant.clinic.details import live_profile
from clinic_assistant.clinic.profile import ClinicProfile


def clinic_profile() -> ClinicProfile:
    """The clinic's details as they are now: the profile file (re-read when it changes)
    with the newest version approved in the staff console over it."""
    return live_profile()


def clinic_slots() -> dict[str, str]:
    """Clinic facts as response variables, e.g. ``{clinic_phone}``."""
    return clinic_profile().as_slots()
