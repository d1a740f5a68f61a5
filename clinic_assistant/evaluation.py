"""Held-out evaluation: intent accuracy and answer accuracy of a trained model.

    python -m clinic_assistant.evaluation --model models/clinic.tar.gz \
        --data tests/heldout/messages.yml --min-accuracy 0.90

Prints both figures and the misses, and exits 1 when either is below the minimum.
The answer key of each prediction comes from ``clinic_assistant.answers.answer_key``,
the same function the action server uses, so the figure is what patients get.

Intent accuracy is strict. Answer accuracy counts, for an out-of-scope message, any
way of declining it (the out-of-scope reply, "did you mean", "could you say it
another way?") as the right answer: the patient gets no wrong answer either way.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable

import yaml

from clinic_assistant.answers import CONDITION_INTENT, answer_key

Parser = Callable[[str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Example:
    text: str
    answer: str

    @property
    def intent(self) -> str:
        if self.answer.startswith("condition/"):
            return CONDITION_INTENT
        return self.answer


@dataclass
class Prediction:
    example: Example
    intent: str
    answer: str
    confidence: float


@dataclass
class Report:
    predictions: list[Prediction] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        hits = sum(p.intent == p.example.intent for p in self.predictions)
        return hits / len(self.predictions) if self.predictions else 0.0

    @property
    def answer_accuracy(self) -> float:
        hits = sum(answered_right(p) for p in self.predictions)
        return hits / len(self.predictions) if self.predictions else 0.0

    def misses(self) -> list[Prediction]:
        return [p for p in self.predictions if not answered_right(p)]

    def confused_pairs(self, most: int = 5) -> list[tuple[tuple[str, str], int]]:
        pairs = Counter((p.example.answer, p.answer) for p in self.misses())
        return pairs.most_common(most)


DECLINES = frozenset({"out_of_scope", "nlu_fallback", "unclear"})


def answered_right(prediction: Prediction) -> bool:
    if prediction.example.answer == "out_of_scope":
        return prediction.answer in DECLINES
    return prediction.answer == prediction.example.answer


def load_examples(path: Path) -> list[Example]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [Example(text=str(m["text"]), answer=str(m["answer"])) for m in raw["messages"]]


async def evaluate(examples: Iterable[Example], parse: Parser) -> Report:
    report = Report()
    for example in examples:
        parsed = await parse(example.text)
        intent = parsed.get("intent") or {}
        report.predictions.append(
            Prediction(
                example=example,
                intent=str(intent.get("name") or ""),
                answer=answer_key(parsed),
                confidence=float(intent.get("confidence") or 0.0),
            )
        )
    return report


def model_parser(model_path: Path) -> Parser:
    """A parse function over a trained Rasa model, loaded in this process."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    return agent.parse_message


def format_report(report: Report, minimum: float) -> str:
    lines = [f"Held-out set: {len(report.predictions)} messages"]
    for label, value in (
        ("intent accuracy", report.intent_accuracy),
        ("answer accuracy", report.answer_accuracy),
    ):
        verdict = "PASS" if value >= minimum else "FAIL"
        lines.append(f"  {label}: {value:.1%} (minimum {minimum:.0%}) {verdict}")
    misses = report.misses()
    if misses:
        lines.append(f"  misses ({len(misses)}):")
        for p in misses:
            lines.append(
                f"    {p.example.text!r}: expected {p.example.answer}, got {p.answer} "
                f"({p.confidence:.2f})"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Held-out accuracy of a trained model")
    parser.add_argument("--model", type=Path, default=Path("models/clinic.tar.gz"))
    parser.add_argument("--data", type=Path, default=Path("tests/heldout/messages.yml"))
    parser.add_argument("--min-accuracy", type=float, default=0.90)
    args = parser.parse_args(argv)
    report = asyncio.run(evaluate(load_examples(args.data), model_parser(args.model)))
    print(format_report(report, args.min_accuracy), flush=True)
    ok = min(report.intent_accuracy, report.answer_accuracy) >= args.min_accuracy
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
