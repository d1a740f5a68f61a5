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


TOKEN = "t" * 32


def test_the_http_api_is_off_unless_a_token_is_set() -> None:
    from clinic_assistant.server import security_arguments

    assert security_arguments(["--port", "5005"], {}) == ["--port", "5005"]
    assert security_arguments([], {"RASA_API_TOKEN": TOKEN}) == ["--enable-api", "--auth-token", TOKEN]
    assert security_arguments([], {"RASA_JWT_SECRET": TOKEN}) == [
        "--enable-api", "--jwt-secret", TOKEN, "--jwt-method", "HS256"]


@pytest.mark.parametrize("argv, env, says", [
    (["--enable-api"], {}, "without a token"),
    ([], {"RASA_API_TOKEN": "short"}, "at least 24"),
    ([], {"RASA_CORS_ORIGINS": "*"}, "must list the origins"),
])
def test_unsafe_settings_are_refused_with_the_reason(argv: list[str], env: dict[str, str], says: str) -> None:
    from clinic_assistant.server import UnsafeSettings, security_arguments

    with pytest.raises(UnsafeSettings, match=says):
        security_arguments(argv, env)


def test_cors_origins_come_from_the_environment() -> None:
    from clinic_assistant.server import security_arguments

    env = {"RASA_CORS_ORIGINS": "https://www.gppainphysio.ca, https://gppainphysio.ca"}
    assert security_arguments([], env) == ["--cors", "https://www.gppainphysio.ca", "https://gppainphysio.ca"]
