"""The trainer's decisions without training (clinic_assistant/training/worker.py): what
it writes for Rasa, and when it trains, loads or waits."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from clinic_assistant.clinic.db import training_additions, training_runs
from clinic_assistant.settings import Settings
from clinic_assistant.training import additions as teach
from clinic_assistant.training.worker import StepFailed, Trainer, compare, fingerprint, write_workspace


@pytest.fixture
def trainer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    made = Trainer(Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                                      "CONSOLE_MODELS_DIR": str(tmp_path / "models"),
                                      "RASA_URL": "http://127.0.0.1:9"}))
    made.trained = []
    monkeypatch.setattr(made, "train", lambda taught, wanted: made.trained.append(wanted))
    return made


def add(trainer: Any, status: str, kind: str = "topic", intent: str = "faq_wheelchair_access") -> None:
    with trainer.engine.begin() as connection:
        connection.execute(training_additions.insert().values(
            kind=kind, intent=intent, title="Wheelchair access", answer_text="Yes, no steps.",
            examples=json.dumps(["is there a ramp", "wheelchair access?"]), mark_ids="[]", reason="r",
            status=status, proposed_by="frida", proposed_at=datetime.now(timezone.utc)))


def test_nothing_approved_nothing_trained(trainer: Any) -> None:
    add(trainer, "proposed")
    trainer.once()
    assert trainer.trained == []


def test_an_approved_addition_is_trained_once_and_a_refused_model_is_not_made_again(trainer: Any) -> None:
    add(trainer, "live")
    wanted = fingerprint(teach.additions(trainer.engine, teach.TAUGHT))
    trainer.once()
    assert trainer.trained == [wanted]
    with trainer.engine.begin() as connection:  # e.g. a retrain after a forget, refused
        connection.execute(training_runs.insert().values(
            status="refused", additions="[1]", fingerprint=wanted, steps="[]", started_at=datetime.now(timezone.utc)))
    trainer.once()
    assert trainer.trained == [wanted]


def test_the_workspace_teaches_a_topic_and_leaves_out_wordings_of_an_answer_not_taught(
        trainer: Any, tmp_path: Path) -> None:
    add(trainer, "live")
    add(trainer, "approved", kind="wordings", intent="faq_parking")
    add(trainer, "approved", kind="wordings", intent="faq_rejected_topic")
    taught = teach.additions(trainer.engine, teach.TAUGHT)
    cannot = write_workspace(tmp_path / "ws", taught)
    assert list(cannot) == [3]
    domain = yaml.safe_load((tmp_path / "ws" / "domain" / "console_additions.yml").read_text())
    assert domain["intents"] == ["faq_wheelchair_access"]
    assert domain["responses"] == {"utter_faq_wheelchair_access": [{"text": "Yes, no steps."}]}
    nlu = yaml.safe_load((tmp_path / "ws" / "data" / "nlu" / "console_additions.yml").read_text())["nlu"]
    assert {item["intent"] for item in nlu} == {"faq_wheelchair_access", "faq_parking"}
    rules = yaml.safe_load((tmp_path / "ws" / "data" / "rules" / "console_additions.yml").read_text())["rules"]
    assert rules[0]["steps"] == [{"intent": "faq_wheelchair_access"}, {"action": "utter_faq_wheelchair_access"}]
    assert (tmp_path / "ws" / "data" / "nlu" / "faq_clinic.yml").exists()  # the repository's data too


def outcomes(both: int, lost: int, gained: int, neither: int = 0) -> tuple[list[bool], list[bool]]:
    """The frozen test set's outcomes for the bot's model and a new one."""
    before = [True] * both + [True] * lost + [False] * gained + [False] * neither
    after = [True] * both + [False] * lost + [True] * gained + [False] * neither
    return before, after


def test_a_new_topic_that_moves_a_few_borderline_messages_either_way_is_not_refused() -> None:
    # what retraining with an added topic does (one fewer right overall): not evidence of worse
    assert not compare(*outcomes(400, lost=3, gained=2, neither=35)).worse
    assert not compare(*outcomes(400, lost=1, gained=0, neither=39)).worse
    assert not compare(*outcomes(400, lost=0, gained=4)).worse


def test_a_new_model_that_loses_far_more_messages_than_it_gains_is_refused() -> None:
    # e.g. the clinic's hours taught as the parking answer: every hours question lost
    comparison = compare(*outcomes(380, lost=10, gained=0, neither=50))
    assert comparison.worse and (comparison.lost, comparison.gained) == (10, 0)
    assert comparison.p_value == pytest.approx(0.5 ** 10)
    assert compare(*outcomes(380, lost=20, gained=6, neither=34)).worse
    assert "10 answered right now and wrong by the new model, 0 the other way" in comparison.summary()


def test_models_measured_on_different_test_sets_are_not_compared() -> None:
    with pytest.raises(StepFailed, match="different test sets"):
        compare([True, True], [True])
