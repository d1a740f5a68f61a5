"""Trains the triage classifier on the corpus's train split, chooses its threshold on
the dev split, and saves it. The test split is read only to keep its near copies out of
train and dev (corpus.split); nothing is chosen on it.

    python -m clinic_assistant.triage.build --output build/triage/classifier.joblib
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from clinic_assistant.triage import CLASSIFIER_PATH, CONDITIONS_PATH, ConditionFinder, Triage
from clinic_assistant.triage.classifier import ClassifierModel, choose_threshold, save, train
from clinic_assistant.triage.corpus import describe, split
from clinic_assistant.triage.rules import RuleLayer

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
EVERYDAY = HERE / "corpus" / "everyday.yml"


def source_files() -> list[Path]:
    """What the classifier is made from; their hash is stored with it."""
    files = sorted(HERE.glob("*.py")) + sorted(HERE.glob("*.yml"))
    files += sorted((HERE / "corpus").glob("t*.yml")) + sorted((HERE / "corpus").glob("dev*.yml"))
    # the entity lexicon decides which messages name a condition (Triage._condition_statement)
    return files + [EVERYDAY, PROJECT / "clinic_assistant" / "nlp" / "entities.yml"]


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def everyday_examples() -> list[str]:
    """Everyday messages (questions, greetings, bookings), none urgent: corpus/everyday.yml,
    a snapshot of the bot's NLU examples kept apart so that NLU data changes do not move
    the classifier."""
    import yaml

    return [str(text) for text in yaml.safe_load(EVERYDAY.read_text(encoding="utf-8"))["everyday"]]


def build(output: Path) -> ClassifierModel:
    rules = RuleLayer()
    prepare = rules.prepare
    train_set, dev_set = split("train"), split("dev")
    everyday = everyday_examples()
    texts = [prepare(e.text) for e in train_set] + [prepare(t) for t in everyday]
    urgent = [e.urgent for e in train_set] + [False] * len(everyday)
    labels = [e.label for e in train_set] + ["none"] * len(everyday)
    binary, multi = train(texts, urgent, labels)

    # The threshold is chosen on the hand-written part of dev: templated near misses are
    # easier than what patients write, and would let it drift too low. The scores are
    # the ones Triage.assess() acts on (same eligibility: classifier_score()).
    written = [e for e in dev_set if not e.source.startswith("templates")]
    scoring = Triage(rules, ClassifierModel(binary, multi, 2.0, {}),
                     ConditionFinder(PROJECT / CONDITIONS_PATH))
    analyses = [rules.analyse(e.text) for e in written]
    scores = [scoring.classifier_score(a) for a in analyses]
    fired = [bool(a.findings) for a in analyses]
    threshold, figures = choose_threshold(scores, [e.urgent for e in written], fired)
    meta = {"source_hash": source_hash(), "train": describe(train_set),
            "train_everyday_messages": len(everyday), "dev": describe(dev_set),
            "dev_written": describe(written), "threshold": threshold, **figures}
    model = ClassifierModel(binary, multi, threshold, meta)
    save(model, output)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=CLASSIFIER_PATH)
    args = parser.parse_args(argv)
    print(f"==> Training the triage classifier into {args.output}", flush=True)
    model = build(args.output)
    m = model.meta
    print(f"==> Triage classifier ready: threshold {m['threshold']:.2f} chosen on hand-written dev "
          f"(rules or classifier: recall {m['dev_recall']:.1%}, false alarms "
          f"{m['dev_false_alarms']:.1%}); trained on {m['train']['emergencies']} emergencies, "
          f"{m['train']['near_misses']} near misses, {m['train_everyday_messages']} "
          f"everyday messages", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
