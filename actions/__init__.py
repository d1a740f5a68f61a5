"""The clinic assistant's action server (``rasa run actions --actions actions``).

One module per concern; each action is a thin class over tested functions in
``clinic_assistant``.
"""
from clinic_assistant.settings import Settings

# At the action server's start: a setting that cannot be read (a port that is not a
# number) stops it here, naming the variable, rather than failing every action.
Settings.from_env()


def _warm_up() -> None:
    """Makes the first calls that are slow only the first time, now rather than in a
    patient's turn, which must be answered within ACTION_TIMEOUT_SECONDS (1.5 s):
    dateparser's English data (about 1.1 s here), the holiday tables and the database
    engine (its migration check), through the same functions the actions call. A
    failure here is logged and the server starts anyway: the first answers are slower."""
    import logging
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from clinic_assistant.clinic.booking import read_preferred_times
    from clinic_assistant.clinic.details import live_profile
    from clinic_assistant.clinic.hours import asked_day

    try:
        profile = live_profile()
        now = datetime.now(timezone.utc)
        asked_day("are you open next tuesday?", profile, now)
        read_preferred_times("next tuesday afternoon", now.astimezone(ZoneInfo(profile.timezone)))
    except Exception:  # noqa: BLE001 - a speed-up only; never keeps the actions from starting
        logging.getLogger(__name__).warning("could not load the date readers ahead of time", exc_info=True)


_warm_up()
