"""Accuracy side by side on the frozen test set (tests/nlu_eval/test.yml, written blind):
this project's pipeline, Rasa's default pipeline (the config `rasa init` writes) and a
TF-IDF + logistic-regression classifier (scikit-learn), all trained on the same data;
plus this pipeline's cross-validated accuracy on the training data (bench/cv.py),
printed beside it.

The baselines get this pipeline's entity extractor (the clinic spaCy entity ruler) and
its fallback thresholds, so that the comparison measures the classifiers, not a
missing extractor or an untuned threshold. (Their thresholds are this pipeline's CV
choice, not a CV choice of their own.)"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from clinic_assistant.rasa.evaluation import (
    DECLINES,
    Report,
    answered_right,
    delivered,
    evaluate_set,
    load_set,
    model_parser,
)
from tests.harness.servers import PROJECT, base_env

TEST_SET = PROJECT / "tests" / "nlu_eval" / "test.yml"
DEFAULT_CONFIG = PROJECT / "bench" / "configs" / "rasa-default-with-entities.yml"


def fallback_settings() -> tuple[float, float]:
    import yaml

    config = yaml.safe_load((PROJECT / "config.yml").read_text())
    fallback = next(c for c in config["pipeline"] if c["name"] == "FallbackClassifier")
    return float(fallback["threshold"]), float(fallback["ambiguity_threshold"])


def figures(report: Report) -> dict[str, Any]:
    """Answer accuracy, macro-F1 over answers, out-of-scope declined, in-scope wrongly
    declined, and the most confused pairs."""
    from sklearn.metrics import f1_score

    def label(answer: str) -> str:
        return "declined" if answer in DECLINES or answer == "out_of_scope" else answer

    predictions = report.predictions
    out = [p for p in predictions if p.example.answer == "out_of_scope"]
    inside = [p for p in predictions if p.example.answer != "out_of_scope"]
    return {
        "messages": len(predictions),
        "answer_accuracy": report.answer_accuracy,
        "intent_accuracy": report.intent_accuracy,
        "macro_f1": float(f1_score([label(p.example.answer) for p in predictions],
                                   [label(delivered(p)) for p in predictions], average="macro",
                                   zero_division=0)),
        "out_of_scope_declined": sum(answered_right(p) for p in out) / len(out) if out else 0.0,
        "in_scope_wrongly_declined": sum(label(p.answer) == "declined" for p in inside) / len(inside)
        if inside else 0.0,
        "confused": [
            {"expected": expected, "got": got, "count": count}
            for (expected, got), count in Counter(
                (p.example.answer, p.answer) for p in report.misses()).most_common(8)
        ],
    }


def train_default_model(out_dir: Path) -> tuple[Path, float]:
    """Trains Rasa's default pipeline on this project's data; returns (model, seconds)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    threshold, ambiguity = fallback_settings()
    config = out_dir / "rasa-default-config.yml"
    config.write_text(DEFAULT_CONFIG.read_text().replace("FALLBACK_THRESHOLD", str(threshold))
                      .replace("FALLBACK_AMBIGUITY", str(ambiguity)))
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--config", str(config), "--domain", "domain",
         "--data", "data", "--out", str(out_dir), "--fixed-model-name", "rasa-default"],
        cwd=PROJECT, env=base_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return out_dir / "rasa-default.tar.gz", time.monotonic() - started


def training_examples() -> tuple[list[str], list[str]]:
    """Every training example of data/nlu with its intent."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(PROJECT / "data" / "nlu"))
    examples = [m for m in data.intent_examples if m.get("text")]
    return [m.get("text") for m in examples], [m.get("intent") for m in examples]


def tfidf_parser() -> Any:
    """TF-IDF (words and character n-grams) + logistic regression, with this project's
    entity extractor and fallback thresholds."""
    import spacy
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    from clinic_assistant.rasa.components import ClinicEntityExtractor

    threshold, ambiguity = fallback_settings()
    nlp = spacy.load(str(PROJECT / "build" / "clinic_spacy"))
    texts, intents = training_examples()
    model = make_pipeline(
        make_union(TfidfVectorizer(lowercase=True, ngram_range=(1, 2)),
                   TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(2, 4))),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    model.fit(texts, intents)

    async def parse(text: str) -> dict[str, Any]:
        probabilities = model.predict_proba([text])[0]
        order = probabilities.argsort()[::-1]
        intent = str(model.classes_[order[0]])
        confidence = float(probabilities[order[0]])
        second = float(probabilities[order[1]]) if len(order) > 1 else 0.0
        if confidence < threshold or confidence - second < ambiguity:
            intent = "nlu_fallback"
        entities = ClinicEntityExtractor._extract_entities(nlp(text.lower()))
        return {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities}

    return parse


def test_report(parse: Any) -> Report:
    return asyncio.run(evaluate_set(load_set(TEST_SET), parse))


def cross_validation(folds: int = 5) -> dict[str, Any]:
    """This pipeline's cross-validated figures on the training data (bench/cv.py), at
    the settings in config.yml."""
    from bench import cv

    started = time.monotonic()
    held = cv.cross_validated(folds)
    now = cv.current_settings()
    at_config = cv.rates(held, now["prefer_entity_below"], now["threshold"], now["ambiguity_threshold"])
    return {"folds": folds, "accuracy": at_config["accuracy"],
            "in_scope_wrongly_declined": at_config["in_scope_wrongly_declined"],
            "out_of_scope_declined": at_config["out_of_scope_declined"],
            "seconds": time.monotonic() - started}


def compare(work_dir: Path, default_model: Path | None = None) -> dict[str, Any]:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    results: dict[str, Any] = {}
    ours = test_report(model_parser(PROJECT / "models" / "clinic.tar.gz"))
    results["this project"] = figures(ours)
    results["this project by kind"] = {k: v for k, (v, _) in ours.figures().items()}
    if default_model is None:
        default_model, seconds = train_default_model(work_dir / "models")
        results["training_seconds_rasa_default"] = seconds
    results["Rasa default pipeline"] = figures(test_report(model_parser(default_model)))
    results["TF-IDF + logistic regression"] = figures(test_report(tfidf_parser()))
    results["cross_validation"] = cross_validation()
    results["default_model"] = str(default_model)
    return results
