"""Accuracy side by side on the held-out set: this project's pipeline, Rasa's default
pipeline (the config `rasa init` writes, trained on the same data) and a TF-IDF +
logistic-regression classifier (scikit-learn) on the same training examples; plus
5-fold cross-validation of this project's pipeline (`rasa test nlu`)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from clinic_assistant.evaluation import (
    DECLINES,
    Example,
    Report,
    answered_right,
    evaluate,
    load_examples,
    model_parser,
)
from clinic_assistant.local_servers import PROJECT, base_env

HELDOUT = PROJECT / "tests" / "nlu_eval" / "dev.yml"
DEFAULT_CONFIG = PROJECT / "bench" / "configs" / "rasa-init-config.yml"


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
                                   [label(p.answer) for p in predictions], average="macro", zero_division=0)),
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
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--config", str(DEFAULT_CONFIG), "--domain", "domain",
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


def tfidf_parser(threshold: float = 0.4) -> Any:
    """TF-IDF (words and character n-grams) + logistic regression, with the same
    fallback threshold as this project's pipeline."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, intents = training_examples()
    model = make_pipeline(
        make_union(TfidfVectorizer(lowercase=True, ngram_range=(1, 2)),
                   TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(2, 4))),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    model.fit(texts, intents)

    async def parse(text: str) -> dict[str, Any]:
        probabilities = model.predict_proba([text])[0]
        best = int(probabilities.argmax())
        intent = str(model.classes_[best])
        confidence = float(probabilities[best])
        if confidence < threshold:
            intent = "nlu_fallback"
        return {"intent": {"name": intent, "confidence": confidence}, "entities": []}

    return parse


def heldout_report(parse: Any, examples: list[Example]) -> Report:
    return asyncio.run(evaluate(examples, parse))


def cross_validation(out_dir: Path, folds: int = 5) -> dict[str, Any]:
    """`rasa test nlu --cross-validation` with this project's config."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "rasa", "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
         "--cross-validation", "--folds", str(folds), "--out", str(out_dir)],
        cwd=PROJECT, env=base_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    report = json.loads((out_dir / "intent_report.json").read_text())
    return {
        "folds": folds,
        "accuracy": float(report["accuracy"]),
        "macro_f1": float(report["macro avg"]["f1-score"]),
        "seconds": time.monotonic() - started,
    }


def compare(work_dir: Path, default_model: Path | None = None) -> dict[str, Any]:
    examples = load_examples(HELDOUT)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    results: dict[str, Any] = {}
    results["this project"] = figures(heldout_report(model_parser(PROJECT / "models" / "clinic.tar.gz"), examples))
    if default_model is None:
        default_model, seconds = train_default_model(work_dir / "models")
        results["training_seconds_rasa_default"] = seconds
    results["Rasa default pipeline"] = figures(heldout_report(model_parser(default_model), examples))
    results["TF-IDF + logistic regression"] = figures(heldout_report(tfidf_parser(), examples))
    results["cross_validation"] = cross_validation(work_dir / "cross-validation")
    results["default_model"] = str(default_model)
    return results
