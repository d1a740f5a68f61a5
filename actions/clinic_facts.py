"""The clinic profile as the actions see it: read through the one settings object."""
from __future__ import annotations

from clinic_assistant.clinic.profile import ClinicProfile, current_profile
from clinic_assistant.settings import Settings


def clinic_profile() -> ClinicProfile:
    """The clinic profile named by the settings (re-read when the file changes)."""
    return current_profile(Settings.from_env().clinic.profile)


def clinic_slots() -> dict[str, str]:
    """Clinic facts as response variables, e.g. ``{clinic_phone}``."""
    return clinic_profile().as_slots()
