"""The triage corpus: emergencies and near misses, split by writing round and template.

    train  train_round{1,2,6,7,9,10}.yml (hand-written) + the train templates
    dev    dev_round{3,8}.yml (hand-written) + the dev templates; thresholds are chosen here
    test   test_round4.yml, test_round5.yml: hand-written by two more writers, frozen
           (SHA-256 in corpus/FROZEN.sha256), never used to choose anything

Every hand-written round was written by a separate session from
shared/clinic-content.md alone, before the rules were changed (corpus/WRITING_BRIEF.md).
"""
from __future__ import annotations

import hashlib
import itertools
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

CORPUS = Path(__file__).resolve().parent / "corpus"
ROUNDS = {
    "train": ["train_round1.yml", "train_round2.yml", "train_round6.yml", "train_round7.yml",
              "train_round9.yml", "train_round10.yml"],
    "dev": ["dev_round3.yml", "dev_round8.yml"],
    "test": ["test_round4.yml", "test_round5.yml"],
}
# Written in French (french.py): emergencies and ordinary messages, each round's header
# says what was measured before it was read.
FRENCH_ROUNDS = ("french_round1.yml", "french_round2.yml")
FROZEN = CORPUS / "FROZEN.sha256"
NONE = "none"  # the label of a near miss
NEAR_COPY = 0.8  # word-set overlap (Jaccard) from which two sentences count as one


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # a category, or "none" for a near miss
    tier: str  # expected tier ("" for a near miss)
    family: str  # near-miss family ("" for an emergency)
    source: str  # the file (and template) it came from

    @property
    def urgent(self) -> bool:
        return self.label != NONE


def frozen_hashes() -> dict[str, str]:
    out = {}
    for line in FROZEN.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        out[name.strip()] = digest
    return out


def check_frozen() -> list[str]:
    """Names of frozen files whose SHA-256 is not the recorded one ([] when intact)."""
    return [name for name, digest in frozen_hashes().items()
            if hashlib.sha256((CORPUS / name).read_bytes()).hexdigest() != digest]


def load_round(name: str) -> list[Example]:
    data = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    out = [Example(e["text"], e["category"], str(e["tier"]), "", name)
           for e in data["emergencies"]]
    out += [Example(e["text"], NONE, "", e["family"], name) for e in data["near_misses"]]
    return out


def load_french_round(name: str) -> tuple[list[str], list[str]]:
    """(emergencies, ordinary messages) of a round written in French."""
    data = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    return [str(e["text"]) for e in data["emergencies"]], [str(t) for t in data["non_urgent"]]


@lru_cache(maxsize=None)
def split(name: str) -> tuple[Example, ...]:
    """All examples of one split ("train", "dev" or "test").

    Writers given the same brief sometimes wrote nearly the same sentence. So that no
    sentence is on both sides, train and dev leave out every example whose words are
    a near copy (Jaccard >= NEAR_COPY) of a test example, and dev every near copy of
    a train example. The frozen test files are never edited.
    """
    if name == "test":
        changed = check_frozen()
        if changed:
            raise ValueError(f"frozen test files changed: {changed} (see corpus/FROZEN.sha256)")
        return tuple(e for f in ROUNDS[name] for e in load_round(f))
    examples = [e for f in ROUNDS[name] for e in load_round(f)]
    examples += list(generate_templates(name))
    held = [words(e.text) for e in split("test")]
    if name == "dev":
        held += [words(e.text) for e in split("train")]
    return tuple(e for e in examples if not near_copy(words(e.text), held))


def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z']+", text.lower()))


def near_copy(these: frozenset[str], others: list[frozenset[str]]) -> bool:
    return any(len(these & o) >= NEAR_COPY * len(these | o) for o in others if these | o)


def generate_templates(part: str) -> Iterator[Example]:
    spec = yaml.safe_load((CORPUS / "templates.yml").read_text(encoding="utf-8"))
    rng = random.Random(spec["seed"])
    per = int(spec["per_template"])
    fill: dict[str, list[str]] = dict(spec["fill"])
    fill.update(spec["near_miss"])
    fill["body"] = spec["body"]
    for name in ("conditions", "ache", "duration", "worry"):
        fill[name] = spec[name]
    for number, template in enumerate(spec["emergency_templates"][part]):
        for category, entry in spec["emergency"].items():
            slots = {**fill, "words": entry["words"]}
            for text in _sample(template, slots, per // 3 or 1, rng):
                yield Example(text, category, str(entry["tier"]), "",
                              f"templates.yml:{part}:emergency:{number}")
    for name, template in spec["near_miss_templates"][part].items():
        family = {"everyday": "everyday_condition"}.get(name.split("_")[0], name.split("_")[0])
        family = "own_history" if name.startswith("own_") else family
        family = "relative_past" if name.startswith("relative_") else family
        family = "risk_question" if name.startswith("risk_") else family
        for text in _sample(template, fill, per * 3, rng):
            yield Example(text, NONE, "", family, f"templates.yml:{part}:{name}")


def _sample(template: str, slots: dict[str, list[str]], count: int,
            rng: random.Random) -> list[str]:
    names = re.findall(r"\{(\w+)\}", template)
    combos = list(itertools.product(*(slots[n] for n in names)))
    rng.shuffle(combos)
    out = []
    for combo in combos[:count]:
        text = template
        for name, value in zip(names, combo, strict=True):
            text = text.replace("{" + name + "}", value, 1)
        out.append(" ".join(text.split()))
    return out


def describe(examples: list[Example]) -> dict[str, Any]:
    return {"emergencies": sum(e.urgent for e in examples),
            "near_misses": sum(not e.urgent for e in examples)}
