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


def answers(both: int, lost: list[str], gained: int, neither: int = 0) -> list[str]:
    """Each message's answer key, in the order of outcomes(): the lost ones as given."""
    return [f"faq_{n % 30}" for n in range(both)] + lost + ["faq_x"] * (gained + neither)


def test_what_retraining_alone_does_is_not_refused() -> None:
    # measured: one harmless topic added at a time moved the set by 0, -1, -1, -1 of 440
    assert compare(*outcomes(402, lost=0, gained=0, neither=38)).reasons == []  # the same answers
    assert compare(*outcomes(401, lost=1, gained=0, neither=39), answers(401, ["faq_hours"], 0, 39)).reasons == []
    # churn that does not lean either way, spread over different answers
    churn = compare(*outcomes(395, lost=3, gained=2, neither=40),
                    answers(395, ["faq_hours", "faq_price", "out_of_scope"], 2, 40))
    assert churn.reasons == [] and (churn.lost, churn.gained) == (3, 2)
    assert not compare(*outcomes(400, lost=0, gained=4)).worse


def test_a_net_loss_of_three_is_refused_however_it_is_spread() -> None:
    spread = compare(*outcomes(400, lost=3, gained=0, neither=37),
                     answers(400, ["faq_hours", "faq_price", "faq_parking"], 0, 37))
    assert spread.p_value == pytest.approx(0.125)  # not significant on its own
    assert spread.reasons == ["3 more wrong than before (retraining alone moves one or two)"]
    two = compare(*outcomes(400, lost=2, gained=0, neither=38), answers(400, ["faq_hours", "faq_price"], 0, 38))
    assert not two.worse  # two lost on two answers: within what retraining does


def test_two_questions_of_one_answer_lost_is_refused() -> None:
    # a taught topic swallowing the questions of an answer the bot had
    swallowed = compare(*outcomes(400, lost=2, gained=1, neither=37), answers(400, ["faq_hours", "faq_hours"], 1, 37))
    assert swallowed.reasons == ["2 questions that should get faq_hours no longer do"]


def test_a_loss_that_leans_one_way_is_refused_by_mcnemar_even_with_gains() -> None:
    # 9 lost and 3 gained over different answers: net 6, and p < 0.05
    lost = [f"faq_{n}" for n in range(9)]
    comparison = compare(*outcomes(380, lost=9, gained=3, neither=48), answers(380, lost, 3, 48))
    assert comparison.p_value == pytest.approx(0.073, abs=0.001)  # 9 of 12: not significant on its own
    assert comparison.reasons == ["6 more wrong than before (retraining alone moves one or two)"]
    many = compare(*outcomes(380, lost=10, gained=0, neither=50), answers(380, [f"faq_{n}" for n in range(10)], 0, 50))
    assert many.p_value == pytest.approx(0.5 ** 10)
    assert many.reasons[0].startswith("a loss this one-sided happens by chance less than 1 time in 20")
    assert "10 answered right now and wrong by the new model, 0 the other way" in many.summary()


def test_the_mcnemar_boundary_without_gains_is_five_lost() -> None:
    # (the net-loss rule refuses 3 and 4 already; this is McNemar's own threshold)
    assert compare(*outcomes(400, lost=4, gained=0)).p_value == pytest.approx(0.0625)
    assert compare(*outcomes(400, lost=5, gained=0)).p_value == pytest.approx(0.03125)
    assert len(compare(*outcomes(400, lost=4, gained=0)).reasons) == 1
    assert len(compare(*outcomes(400, lost=5, gained=0)).reasons) == 2


def test_models_measured_on_different_test_sets_are_not_compared() -> None:
    with pytest.raises(StepFailed, match="different test sets"):
        compare([True, True], [True])
