"""The Rasa server entry point's changes keep Rasa's behaviour (only faster / safer)."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError

from clinic_assistant.server import cache_event_classes, compile_action_response_check


def test_event_class_table_gives_rasas_answers() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    names = {cls.type_name for cls in all_subclasses(Event)}
    expected = {name: Event.resolve_by_type(name) for name in names}
    cache_event_classes()
    assert {name: Event.resolve_by_type(name) for name in names} == expected
    assert Event.resolve_by_type("no_such_event", default=Event) is Event
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")


def test_action_responses_are_still_checked() -> None:
    from rasa.core.actions.action import RemoteAction

    compile_action_response_check()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}],
                                           "responses": [{"text": "hi"}]})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"no_event_key": 1}]})
