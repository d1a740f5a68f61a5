"""Red-flag detection: a spaCy Matcher on lemmas, aware of negation, risk questions
and past history. The patterns are in ``red_flags.yml``.

    detector = RedFlagDetector(nlp)          # nlp: the clinic spaCy pipeline
    detector.detect(nlp("i have crushing chest pain"))
    -> [RedFlag(category="emergency", kind="chest pain", text="crushing chest pain")]
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

RED_FLAGS_FILE = Path(__file__).resolve().parent / "red_flags.yml"

# Categories, most urgent first: when a message has several, the first one decides
# the reply (a crisis reply also says to call 911).
CATEGORIES = ("crisis", "emergency", "infection")

# A negation this close before a match, in the same clause, cancels it.
NEGATION_WINDOW = 5
NEGATIONS = frozenset(
    {"no", "not", "n't", "never", "without", "none", "nor", "neither", "deny", "denies",
     "zero", "nothing", "nt"}
)
# Words that end a clause: a negation before them does not reach past them.
CLAUSE_BREAKS = frozenset({".", ";", "!", "?", "but", "and", "though", "although", "however", ","})
# Words of a question about risk: "can needling cause a collapsed lung?",
# "what if I faint?", "is fainting a side effect?". Matched anywhere before the flag in
# the same sentence, or after it in the same clause (so "I fainted, is that a side
# effect?" still counts: the fainting happened). Deliberately narrow: "I don't know if this is a heart attack"
# and "is it dangerous that I'm short of breath" must still count.
RISK_WORDS = frozenset(
    {"cause", "causes", "risk", "risks", "chance", "chances", "possible", "possibility",
     "prevent", "avoid", "complication", "complications"}
)
RISK_PHRASES = (("side", "effect"), ("side", "effects"), ("worried", "about"),
                ("afraid", "of"), ("scared", "of"), ("read", "about"), ("heard", "about"),
                ("what", "if"), ("happens", "if"), ("do", "if"), ("in", "case"),
                ("if", "i", "get"), ("if", "i", "ever"), ("if", "you", "get"), ("even", "if"))
# Past history: "my dad had a stroke years ago", "history of migraines".
PAST_PHRASES = (("years", "ago"), ("year", "ago"), ("months", "ago"), ("last", "year"),
                ("history", "of"), ("in", "the", "past"), ("used", "to"), ("as", "a", "kid"),
                ("when", "i", "was"))


@dataclass(frozen=True)
class RedFlag:
    """One red flag found in a message."""

    category: str  # crisis | emergency | infection
    kind: str  # e.g. "chest pain", "cauda equina"
    text: str  # the patient's words that matched
    start: int = 0  # character offsets of those words in the message
    end: int = 0


def load_spec(path: Path = RED_FLAGS_FILE) -> dict[str, dict[str, dict[str, Any]]]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(spec) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown red-flag categories in {path}: {sorted(unknown)}")
    return spec


class RedFlagDetector:
    """Finds red flags in a doc made by the clinic spaCy pipeline (lower-cased text)."""

    def __init__(self, nlp: Any, spec: dict[str, dict[str, dict[str, Any]]] | None = None):
        from spacy.matcher import Matcher

        self._matcher = Matcher(nlp.vocab, validate=True)
        lemmatizer = nlp.get_pipe("lemmatizer")
        for category, kinds in (spec or load_spec()).items():
            for kind, forms in kinds.items():
                patterns = [
                    [{"LEMMA": token.lemma_} for token in lemmatizer(nlp.make_doc(str(p).lower()))]
                    for p in forms.get("phrases", [])
                ]
                patterns += list(forms.get("patterns", []))
                self._matcher.add(f"{category}|{kind}", patterns)

    def detect(self, doc: Any) -> list[RedFlag]:
        """The red flags in ``doc``, most urgent category first; [] when there are none."""
        spans: dict[tuple[str, str], tuple[int, int]] = {}
        for match_id, start, end in self._matcher(doc):
            if self._discounted(doc, start):
                continue
            category, kind = doc.vocab.strings[match_id].split("|", 1)
            key = (category, kind)
            if key not in spans:
                spans[key] = (start, end)
            elif start <= spans[key][1] and end >= spans[key][0]:
                # overlapping matches of one kind: report the words they cover together
                spans[key] = (min(start, spans[key][0]), max(end, spans[key][1]))
        found: dict[tuple[str, str], RedFlag] = {}
        for (category, kind), (start, end) in spans.items():
            span = doc[start:end]
            found[(category, kind)] = RedFlag(category, kind, span.text, span.start_char,
                                              span.end_char)
        return sorted(found.values(), key=lambda f: CATEGORIES.index(f.category))

    @staticmethod
    def _discounted(doc: Any, start: int) -> bool:
        """Whether the match at ``start`` is negated, a risk question, or past history."""
        before = _sentence_before(doc, start)
        clause = _clause_tail(before)
        # "no chest pain or shortness of breath": a symptom joined by "or"/"nor" shares
        # the negation of its clause; otherwise only a negation close by counts.
        window = clause if clause[-1:] in (["or"], ["nor"]) else clause[-NEGATION_WINDOW:]
        if any(word in NEGATIONS for word in window):
            return True
        rest = [t.lower_ for t in doc[start:_sentence_end(doc, start)]]
        for words in (before, _clause_head(rest)):
            if any(word in RISK_WORDS for word in words) or _has_phrase(words, RISK_PHRASES):
                return True
        return _has_phrase(before + rest, PAST_PHRASES)


def _sentence_before(doc: Any, start: int) -> list[str]:
    words: list[str] = []
    for token in reversed(doc[:start]):
        if token.text in {".", "!", "?"}:
            break
        words.append(token.lower_)
    return list(reversed(words))


def _sentence_end(doc: Any, start: int) -> int:
    for token in doc[start:]:
        if token.text in {".", "!", "?"}:
            return token.i
    return len(doc)


def _clause_tail(words: list[str]) -> list[str]:
    for index in range(len(words) - 1, -1, -1):
        if words[index] in CLAUSE_BREAKS:
            return words[index + 1:]
    return words


def _clause_head(words: list[str]) -> list[str]:
    for index, word in enumerate(words):
        if word in CLAUSE_BREAKS:
            return words[:index]
    return words


def _has_phrase(words: list[str], phrases: Iterable[tuple[str, ...]]) -> bool:
    for phrase in phrases:
        size = len(phrase)
        if any(tuple(words[i:i + size]) == phrase for i in range(len(words) - size + 1)):
            return True
    return False
