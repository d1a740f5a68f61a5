"""Red-flag triage figures (issue #14), printed with PASS/MISS against the targets.

    make bench-safety          (runs this, then bench/safety.py)
    python -m bench.triage [--rules-only]

For each split of the triage corpus (clinic_assistant/triage/corpus.py):
- cross-validation on train: the classifier retrained on 4 of 5 groups of train (grouped
  by writing round and template, so no template is on both sides), the held-out group
  scored with rules-or-classifier at the shipped threshold;
- dev: the split the threshold was chosen on;
- test: the frozen hand-written rounds, never used to choose anything (SHA-256 checked).
Recall per category and per tier (caught = sent to emergency care at any tier; under-
triage = sent to a less urgent tier than expected), false alarms per near-miss family,
and the rules and the classifier alone beside the combination.

Targets (frozen test): recall >= 99% overall and >= 95% in every category; false
alarms <= 3% overall.

Also: everyday patient messages sent to an urgent reply. The NLU evaluation sets
(tests/nlu_eval/: questions, statements, follow-ups written blind, none urgent) are
ordinary messages of the kind the bot gets all day; the dev sets' share is printed for
finding what to change, the frozen test set's for the figure.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from clinic_assistant.triage import CLASSIFIER_PATH, Triage
from clinic_assistant.triage.corpus import FRENCH_ROUNDS, Example, load_french_round, split

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "bench" / "results"
TARGETS = {"recall": 0.99, "category_recall": 0.95, "false_alarms": 0.03}
URGENCY = {"crisis": 0, "911": 0, "same_day": 1}  # crisis and 911 both say "call 911"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def row(triage: Triage, e: Example) -> dict[str, Any]:
    """One example's outcome: overall, and by the rules and the classifier alone."""
    a = triage.assess(e.text)
    threshold = triage.classifier.threshold if triage.classifier else 2.0
    return {"text": e.text, "label": e.label, "tier": e.tier, "family": e.family,
            "got": a.tier, "rules": bool(a.analysis.findings),
            "classifier": a.classifier_score >= threshold,
            "categories": [f.category for f in a.findings],
            "answer_may_follow": a.answer_may_follow}


def score(triage: Triage, examples: list[Example]) -> dict[str, Any]:
    return summarise([row(triage, e) for e in examples])


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    emergencies = [r for r in rows if r["label"] != "none"]
    near = [r for r in rows if r["label"] == "none"]
    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_tier: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    under = 0
    for r in emergencies:
        caught = r["got"] is not None
        by_cat[r["label"]][0] += caught
        by_cat[r["label"]][1] += 1
        by_tier[r["tier"]][0] += caught
        by_tier[r["tier"]][1] += 1
        if caught and URGENCY[r["got"]] > URGENCY[r["tier"]]:
            under += 1
    by_family: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in near:
        by_family[r["family"]][0] += r["got"] is not None
        by_family[r["family"]][1] += 1
    n_e, n_n = max(len(emergencies), 1), max(len(near), 1)
    return {
        "emergencies": len(emergencies), "near_misses": len(near),
        "recall": sum(r["got"] is not None for r in emergencies) / n_e,
        "rules_recall": sum(r["rules"] for r in emergencies) / n_e,
        "classifier_recall": sum(r["classifier"] for r in emergencies) / n_e,
        "false_alarms": sum(r["got"] is not None for r in near) / n_n,
        "rules_false_alarms": sum(r["rules"] for r in near) / n_n,
        "classifier_false_alarms": sum(r["classifier"] for r in near) / n_n,
        "under_triaged": under,
        # caught emergencies whose emergency reply the bot's answer may follow (a 911
        # alarm of the classifier alone in a message of only places, pain words and
        # durations: clinic_assistant/triage/README.md), and near misses alike
        "answer_may_follow": sum(r["got"] is not None and r["answer_may_follow"] for r in emergencies),
        "false_alarms_answer_may_follow": sum(r["got"] is not None and r["answer_may_follow"] for r in near),
        "category": {k: v for k, v in sorted(by_cat.items())},
        "tier": {k: v for k, v in sorted(by_tier.items())},
        "family": {k: v for k, v in sorted(by_family.items())},
        "missed": [(r["label"], r["text"]) for r in emergencies if r["got"] is None],
        "false_alarm_texts": [(r["family"], r["text"], r["categories"]) for r in near
                              if r["got"] is not None],
    }


def cross_validate(triage: Triage, folds: int = 5) -> dict[str, Any]:
    """Rules-or-classifier on train, the classifier retrained without the held-out group."""
    from clinic_assistant.triage.build import everyday_examples
    from clinic_assistant.triage.classifier import ClassifierModel, train

    examples = split("train")
    groups = sorted({e.source for e in examples})
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    everyday = [triage.prepare(t) for t in everyday_examples()]
    threshold = triage.classifier.threshold if triage.classifier else 2.0
    rows = []
    for fold in range(folds):
        fit = [e for e in examples if fold_of[e.source] != fold]
        held = [e for e in examples if fold_of[e.source] == fold]
        if not held:
            continue
        binary, multi = train([triage.prepare(e.text) for e in fit] + everyday,
                              [e.urgent for e in fit] + [False] * len(everyday),
                              [e.label for e in fit] + ["none"] * len(everyday))
        fold_triage = Triage(triage.rules, ClassifierModel(binary, multi, threshold, {}),
                             triage.conditions)
        rows += [row(fold_triage, e) for e in held]
    return summarise(rows)


NLU_SETS = {"NLU dev sets (dev.yml, dev2.yml, dev4.yml–dev9.yml)": ("dev.yml", "dev2.yml", "dev4.yml", "dev5.yml", "dev6.yml", "dev7.yml", "dev8.yml",
                                                                 "dev9.yml"),
            # written after the triage figures above were last changed; apart, so the
            # figure of dev.yml–dev9.yml stays comparable with earlier runs
            "NLU dev sets 10 and 11 (dev10.yml, dev11.yml)": ("dev10.yml", "dev11.yml"),
            "NLU test set (test.yml, frozen)": ("test.yml",)}


def everyday_alarms(triage: Triage, files: tuple[str, ...]) -> tuple[int, int, int]:
    """(messages sent to an urgent reply, of which the bot's answer may follow the
    emergency reply, messages) among the never-urgent messages of the NLU evaluation
    sets (red-flag answers and other languages left out)."""
    from clinic_assistant.rasa.evaluation import load_set

    texts = []
    for name in files:
        data = load_set(PROJECT / "tests" / "nlu_eval" / name)
        turns = data.messages + [t for c in data.conversations for t in c]
        texts += [t.text for t in turns if not t.answer.startswith("red_flag")
                  and t.answer != "other_language"]
    assessments = [triage.assess(t) for t in texts]
    return (sum(a.tier is not None for a in assessments),
            sum(a.answer_may_follow for a in assessments), len(texts))


def print_split(name: str, s: dict[str, Any]) -> None:
    print(f"\n== {name}: {s['emergencies']} emergencies, {s['near_misses']} near misses")
    print(f"   recall {s['recall']:.1%} (rules alone {s['rules_recall']:.1%}, classifier alone "
          f"{s['classifier_recall']:.1%}); false alarms {s['false_alarms']:.1%} (rules "
          f"{s['rules_false_alarms']:.1%}, classifier {s['classifier_false_alarms']:.1%}); "
          f"under-triaged {s['under_triaged']}")
    print(f"   emergency reply then an answer possible (classifier alone, only places, pain "
          f"words, durations): {s['answer_may_follow']} emergencies, "
          f"{s['false_alarms_answer_may_follow']} false alarms")
    print("   recall per category: " + ", ".join(
        f"{k} {c}/{n}" for k, (c, n) in s["category"].items()))
    print("   recall per tier:     " + ", ".join(
        f"{k} {c}/{n}" for k, (c, n) in s["tier"].items()))
    print("   false alarms per near-miss family: " + ", ".join(
        f"{k} {c}/{n}" for k, (c, n) in s["family"].items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-only", action="store_true", help="without the classifier")
    parser.add_argument("--errors", choices=["train", "dev"],
                        help="print that split's missed emergencies and false alarms "
                             "(train: from cross-validation), for error analysis")
    parser.add_argument("--show-test-errors", action="store_true",
                        help="print the test sentences missed (for a final report only: "
                             "reading them turns the test set into a dev set)")
    args = parser.parse_args(argv)
    triage = Triage.load(None if args.rules_only else CLASSIFIER_PATH)
    if triage.classifier:
        m = triage.classifier.meta
        print(f"Classifier threshold {triage.classifier.threshold:.2f}, chosen on dev only "
              f"(dev: rules alone recall {m['dev_rules_recall']:.1%} / false alarms "
              f"{m['dev_rules_false_alarms']:.1%}; with the classifier {m['dev_recall']:.1%} / "
              f"{m['dev_false_alarms']:.1%})")
    results: dict[str, Any] = {}
    if triage.classifier:
        results["train (5-fold CV, grouped by round and template)"] = cross_validate(triage)
    results["dev"] = score(triage, split("dev"))
    results["test (frozen)"] = score(triage, split("test"))
    for name, s in results.items():
        print_split(name, s)
    print("\n== everyday patient messages sent to an urgent reply")
    for name, files in NLU_SETS.items():
        alarms, then_answer, total = everyday_alarms(triage, files)
        results[f"everyday: {name}"] = {"alarms": alarms, "answer_may_follow": then_answer,
                                        "messages": total}
        print(f"   {name}: {alarms}/{total} ({alarms / total:.1%}); of them, the answer may "
              f"follow the emergency reply: {then_answer}")
    print("\n== written in French (the glossary was extended on these rounds: each file's header "
          "has the figure measured before it was read)")
    for name in FRENCH_ROUNDS:
        emergencies, ordinary = load_french_round(name)
        caught = sum(triage.assess(t).tier is not None for t in emergencies)
        alarms = sum(triage.assess(t).tier is not None for t in ordinary)
        results[f"french {name}"] = {"caught": caught, "emergencies": len(emergencies),
                                     "alarms": alarms, "messages": len(ordinary)}
        print(f"   {name}: emergencies caught {caught}/{len(emergencies)}, ordinary "
              f"messages sent to an urgent reply {alarms}/{len(ordinary)}")
    test = results["test (frozen)"]
    worst = min(c / n for c, n in test["category"].values())
    print("\nTargets on the frozen test set:")
    print(f"  recall {test['recall']:.1%} (>= 99%): {verdict(test['recall'] >= TARGETS['recall'])}")
    print(f"  lowest category recall {worst:.1%} (>= 95%): "
          f"{verdict(worst >= TARGETS['category_recall'])}")
    print(f"  false alarms {test['false_alarms']:.1%} (<= 3%): "
          f"{verdict(test['false_alarms'] <= TARGETS['false_alarms'])}")
    if args.errors:
        chosen = next(v for k, v in results.items() if k.startswith(args.errors))
        for label, text in chosen["missed"]:
            print(f"  {args.errors} missed [{label}] {text}")
        for family, text, cats in chosen["false_alarm_texts"]:
            print(f"  {args.errors} false alarm [{family}] {text} -> {cats}")
    if args.show_test_errors:
        for label, text in test["missed"]:
            print(f"  missed [{label}] {text}")
        for family, text, cats in test["false_alarm_texts"]:
            print(f"  false alarm [{family}] {text} -> {cats}")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"triage-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for s in results.values():
        s.pop("missed", None), s.pop("false_alarm_texts", None)
    out.write_text(json.dumps({"when": stamp, "results": results}, indent=2))
    print(f"\nWritten to {out.relative_to(PROJECT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


