"""The Rasa server entry point's changes keep Rasa's behaviour (only faster / safer)."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError

from clinic_assistant.rasa import patches as rasa_patches
from clinic_assistant.rasa.patches import cached_event_classes, compiled_action_response_check


def test_event_class_table_gives_rasas_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])  # undone after
    names = {cls.type_name for cls in all_subclasses(Event)}
    expected = {name: Event.resolve_by_type(name) for name in names}
    cached_event_classes()
    assert {name: Event.resolve_by_type(name) for name in names} == expected
    assert Event.resolve_by_type("no_such_event", default=Event) is Event
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")


def test_action_responses_are_still_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.actions.action import RemoteAction

    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    compiled_action_response_check()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}],
                                           "responses": [{"text": "hi"}]})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"no_event_key": 1}]})


def test_the_patches_refuse_another_rasa_version() -> None:
    with pytest.raises(rasa_patches.WrongRasaVersion) as refused:
        rasa_patches.apply(installed="3.7.0")
    assert "Rasa 3.7.0 is installed" in str(refused.value) and rasa_patches.RASA_VERSION in str(refused.value)
    assert rasa_patches.applied() == []  # nothing was changed
    import rasa

    assert rasa.__version__ == rasa_patches.RASA_VERSION  # what requirements.lock installs


def test_a_bot_started_without_the_entry_point_says_the_safety_nets_are_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        rasa_patches.warn_if_not_applied()
    assert "safety net" in caplog.text and "OFF" in caplog.text


def test_the_server_applies_every_patch_in_its_own_process() -> None:
    import subprocess
    import sys

    code = ("from clinic_assistant.rasa import patches as rasa_patches; import rasa.core.agent as a; "
            "print(rasa_patches.apply()); print(a.MessageProcessor.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-2] == str(list(rasa_patches.PATCHES))
    assert out.splitlines()[-1] == "ClinicMessageProcessor"


TOKEN = "t" * 32


def test_the_http_api_is_off_unless_a_token_is_set() -> None:
    from clinic_assistant.rasa.server import security_arguments

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
    from clinic_assistant.rasa.server import UnsafeSettings, security_arguments

    with pytest.raises(UnsafeSettings, match=says):
        security_arguments(argv, env)


def test_cors_origins_come_from_the_environment() -> None:
    from clinic_assistant.rasa.server import security_arguments

    env = {"RASA_CORS_ORIGINS": "https://www.gppainphysio.ca, https://gppainphysio.ca"}
    assert security_arguments([], env) == ["--cors", "https://www.gppainphysio.ca", "https://gppainphysio.ca"]


def test_the_rasa_command_of_make_run_prints_no_third_party_deprecations() -> None:
    import subprocess
    import sys

    code = ("from clinic_assistant.rasa.cli import quiet_third_party_warnings; quiet_third_party_warnings(); "
            "import rasa.utils.common as c; c.configure_logging_and_warnings(); "
            "import rasa.utils.plotting, packaging.requirements, sanic_cors, typer")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "DeprecationWarning" not in done.stderr, done.stderr[-2000:]
    # without it, the same imports print them (so the check above can fail)
    bare = subprocess.run([sys.executable, "-c", code.split("; ", 2)[2]], capture_output=True, text=True)
    assert "DeprecationWarning" in bare.stderr


def test_the_staff_channel_loads_models_with_the_endpoints_file_the_server_was_started_with() -> None:
    from clinic_assistant.rasa import server

    try:
        server.remember_endpoints_file(["--model", "m.tar.gz", "--endpoints", "/etc/clinic-bot/endpoints.yml"])
        assert server.ENDPOINTS_FILE == "/etc/clinic-bot/endpoints.yml"
        server.remember_endpoints_file(["--endpoints=other.yml"])
        assert server.ENDPOINTS_FILE == "other.yml"
    finally:
        server.ENDPOINTS_FILE = "endpoints.yml"
