"""Custom actions: the events they return and the messages they send, from saved trackers."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conditions import ActionAnswerCondition
from actions.session import ActionSessionStart

TEST_PROFILE_SLOTS = {
    "clinic_name": "Test Physio",
    "clinic_city": "Grande Prairie",
    "clinic_phone": "(780) 555-0199",
    "clinic_email": "desk@test.example",
    "clinic_address": "1 Test Road",
    "clinic_booking_link": "https://test.example/book",
    "clinic_hours": "Monday to Tuesday 9 a.m. to 5 p.m.; Saturday 10 a.m. to 2:30 p.m.",
    "clinic_notice": "",  # no closure in it
}


async def test_session_start_fills_clinic_facts_from_the_profile(
    profile_file: Path, saved_tracker: Callable[[str], Any]
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, saved_tracker("new_conversation"), {})

    assert events == [
        SessionStarted(),
        *(SlotSet(name, value) for name, value in TEST_PROFILE_SLOTS.items()),
        ActionExecuted("action_listen"),
    ]
    # The first message says who the patient is talking to; the clinic facts travel
    # with it because the new slots are not in the tracker yet when it is rendered.
    assert len(dispatcher.messages) == 1
    message = dispatcher.messages[0]
    assert message["response"] == "utter_disclaimer"
    assert message["clinic_phone"] == "(780) 555-0199"
    assert message["clinic_name"] == "Test Physio"


@pytest.mark.parametrize(
    "tracker_name, response",
    [
        ("condition_tmj", "utter_condition_tmj"),
        ("condition_neck_body_part", "utter_condition_chronic_muscle_pain"),
        ("condition_unlisted_arthritis", "utter_condition_unlisted"),
        ("condition_none_named", "utter_condition_unlisted"),
    ],
)
async def test_condition_answer_follows_the_named_condition(
    profile_file: Path,
    saved_tracker: Callable[[str], Any],
    tracker_name: str,
    response: str,
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerCondition().run(dispatcher, saved_tracker(tracker_name), {})

    assert events == []
    assert [m["response"] for m in dispatcher.messages] == [response]
    assert dispatcher.messages[0]["clinic_phone"] == "(780) 555-0199"
