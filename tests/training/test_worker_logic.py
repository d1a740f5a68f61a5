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


def keys(both: int, lost: list[str], gained: list[str], neither: int = 0) -> list[str]:
    """Each message's answer key, in the order of outcomes()."""
    return [f"faq_{n % 30}" for n in range(both)] + lost + gained + ["faq_x"] * neither


def test_what_retraining_alone_does_is_not_refused() -> None:
    # measured: one harmless topic added at a time moved the set by 0, -1, -1, -1 of 440
    same = compare(*outcomes(402, lost=0, gained=0, neither=38), keys(402, [], [], 38))
    assert not same.worse and (same.lost, same.gained) == (0, 0)
    assert not compare(*outcomes(401, lost=1, gained=0, neither=39), keys(401, ["faq_hours"], [], 39)).worse
    # churn that does not lean either way, and two lost on two different answers
    churn = compare(*outcomes(395, lost=3, gained=2, neither=40),
                    keys(395, ["faq_hours", "faq_price", "out_of_scope"], ["faq_cost", "faq_parking"], 40))
    assert not churn.worse and (churn.lost, churn.gained) == (3, 2)
    assert not compare(*outcomes(400, lost=2, gained=0, neither=38), keys(400, ["faq_hours", "faq_price"], [], 38)).worse
    assert not compare(*outcomes(400, lost=0, gained=4), keys(400, [], ["faq_hours"] * 4)).worse


def test_three_more_wrong_than_right_is_refused_however_it_is_spread() -> None:
    spread = compare(*outcomes(400, lost=3, gained=0, neither=37),
                     keys(400, ["faq_hours", "faq_price", "faq_parking"], [], 37))
    assert spread.worse
    assert spread.reasons == ["3 more test messages answered wrong than before (retraining alone moves one or two)"]
    leaning = compare(*outcomes(380, lost=9, gained=6, neither=45),
                      keys(380, [f"faq_{n}" for n in range(9)], [f"faq_{n}" for n in range(10, 16)], 45))
    assert leaning.worse and "3 more test messages answered wrong" in leaning.reasons[0]
    assert "9 answered right now and wrong by the new model, 6 the other way" == leaning.summary()


def test_two_messages_of_one_answer_lost_is_refused() -> None:
    # a taught topic swallowing the questions of an answer the bot had, while gaining elsewhere
    swallowed = compare(*outcomes(400, lost=2, gained=3, neither=35),
                        keys(400, ["faq_hours", "faq_hours"], ["faq_price", "faq_cost", "faq_parking"], 35))
    assert swallowed.worse
    assert swallowed.reasons == ["2 test messages that should get the answer faq_hours now get another one"]
    # an answer that loses two and gains two others back is no worse
    evened = compare(*outcomes(400, lost=2, gained=2, neither=36),
                     keys(400, ["faq_hours", "faq_hours"], ["faq_hours", "faq_hours"], 36))
    assert not evened.worse


def test_the_catch_all_answers_are_left_to_the_net_rule() -> None:
    # a taught topic may rightly answer two messages that were out of scope before
    for catch_all in ("out_of_scope", "condition/unlisted"):
        assert not compare(*outcomes(400, lost=2, gained=0, neither=38), keys(400, [catch_all] * 2, [], 38)).worse


def test_models_measured_on_different_test_sets_are_not_compared() -> None:
    with pytest.raises(StepFailed, match="different test sets"):
        compare([True, True], [True], ["faq_hours", "faq_price"])
    with pytest.raises(StepFailed, match="answer keys"):
        compare([True, True], [True, False], ["faq_hours"])
