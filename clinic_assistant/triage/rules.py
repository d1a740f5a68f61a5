"""The rule layer of triage: lay-word concepts, their context, and the categories
they make (lexicon.yml, context.yml, rules.yml beside this file).

1. The message is normalised and misspelled lexicon words corrected (spelling.py).
2. A spaCy Matcher on lemmas finds every concept (body site, symptom, time, ...).
3. medspaCy's ConText marks each concept negated, hypothetical, historical or about
   someone else, within its sentence and clause.
4. A concept counts unless a discount clearly applies to it:
   - negated: the negation governs that concept in its own clause;
   - hypothetical (a risk question, "what if", "can needling cause"): only when the
     message has nothing present in it (no "now / today / since ...", no other
     symptom that is itself present);
   - historical ("years ago", "used to", a relative who "had" it): only when nothing in
     the message is present.
   Idioms ("gives me a heart attack", "dying to try") remove the concepts they cover.
5. A category is found when one of its concept combinations is all there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clinic_assistant.triage.phrases import compile_phrase
from clinic_assistant.triage.spelling import Speller, normalise

HERE = Path(__file__).resolve().parent
LEXICON_FILE = HERE / "lexicon.yml"
CONTEXT_FILE = HERE / "context.yml"
RULES_FILE = HERE / "rules.yml"
SPAN_GROUP = "triage_concepts"
_CONTEXT_ATTRS = {
    "NEGATED_EXISTENCE": {"is_negated": True},
    "HYPOTHETICAL": {"is_hypothetical": True},
    "HISTORICAL": {"is_historical": True},
    "FAMILY": {"is_family": True},
}


@dataclass(frozen=True)
class Finding:
    """One red-flag category found in a message."""

    category: str
    tier: str
    evidence: tuple[str, ...]  # the (normalised) words of the concepts that made it
    source: str = "rules"


@dataclass
class ConceptSpan:
    concept: str
    start: int
    end: int
    text: str
    negated: bool = False
    hypothetical: bool = False
    historical: bool = False
    family: bool = False


@dataclass
class RuleAnalysis:
    """What the rule layer saw: for logs, tests and the benchmark's error analysis."""

    text: str  # normalised and spell-corrected text the rules read
    concepts: list[ConceptSpan] = field(default_factory=list)
    active: list[ConceptSpan] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class RuleLayer:
    def __init__(self) -> None:
        import spacy

        ConText, ConTextRule = _import_context()

        self.spec = _load_yaml(RULES_FILE)
        self.tiers: list[str] = list(self.spec["tiers"])
        self.categories: dict[str, dict[str, Any]] = self.spec["categories"]
        self.not_symptoms = set(self.spec["not_symptoms"])
        self.residual = set(self.spec["residual"])
        self.places = set(self.spec["places"])
        self._categories_of: dict[str, set[str]] = {}
        for name, cat in self.categories.items():
            for rule in cat["rules"]:
                for concept in rule["all"]:
                    self._categories_of.setdefault(concept, set()).add(name)
        lexicon: dict[str, list[str]] = _load_yaml(LEXICON_FILE)
        self._check(lexicon)

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()  # the lemma table ships in spacy-lookups-data: nothing is fetched
        self.nlp = nlp
        self._lemmatizer = nlp.get_pipe("lemmatizer")

        # every word written in the lexicon (no need to multiply the groups out)
        words = {w for phrases in lexicon.values() for p in phrases
                 for w in re.findall(r"[a-z]+", normalise(p))}
        self.speller = Speller(words)

        from spacy.matcher import Matcher

        # One small matcher per pattern, run only when the message has a word for every
        # required token of it: most patterns are skipped for most messages (a single
        # Matcher over all of them took ~1.3 ms a message, this ~0.2 ms).
        self._matchers: list[tuple[list[frozenset[str]], Any]] = []
        for concept, phrases in lexicon.items():
            for p in phrases:
                for pattern in compile_phrase(normalise(p), self._lemmas):
                    matcher = Matcher(nlp.vocab, validate=True)
                    matcher.add(concept, [pattern])
                    self._matchers.append((_required_words(pattern), matcher))

        self._rule_concepts = {c for cat in self.categories.values()
                               for r in cat["rules"] for c in r["all"]} | {
            c for cat in self.categories.values() for c in cat.get("upgrade", [])}
        self._context = ConText(nlp, rules=None, input_span_type="group",
                                span_group_name=SPAN_GROUP, span_attrs=_CONTEXT_ATTRS,
                                prune_on_target_overlap=False)
        spec = _load_yaml(CONTEXT_FILE)
        rules = []
        for category, directions in spec.items():
            for direction, entry in directions.items():
                for phrase in entry["phrases"]:
                    for pattern in compile_phrase(normalise(phrase), self._words, "LOWER"):
                        rules.append(ConTextRule(
                            literal=phrase, category=category, pattern=pattern,
                            direction=direction.split("_")[0], max_scope=entry.get("max_scope"),
                            excluded_types={t.upper() for t in entry.get("excluded", [])} or None,
                        ))
        self._context.add(rules)

    def categories_of(self, concept: str) -> set[str]:
        """The categories whose rules use ``concept``."""
        return self._categories_of.get(concept, set())

    def _words(self, text: str) -> list[str]:
        return [t.lower_ for t in self.nlp.make_doc(text)]

    def _lemmas(self, text: str) -> list[str]:
        doc = self._lemmatizer(self.nlp.make_doc(text))
        return [t.lemma_ or t.lower_ for t in doc]

    def _check(self, lexicon: dict[str, list[str]]) -> None:
        used = {c for cat in self.categories.values()
                for c in [*(x for r in cat["rules"] for x in [*r["all"], *r.get("unless", [])]),
                          *cat.get("upgrade", []), *cat.get("unless", [])]}
        missing = sorted(used - set(lexicon))
        if missing:
            raise ValueError(f"rules.yml names concepts that lexicon.yml lacks: {missing}")

    def prepare(self, text: str) -> str:
        """The text both triage layers read: normalised, misspellings corrected."""
        return self.speller.correct(normalise(text))

    def analyse(self, text: str) -> RuleAnalysis:
        """The rules' reading of ``text``. A misspelled word with several equally good
        corrections ("cheet": "cheek" or "chest") is read each way; the first reading
        with a red flag counts, else the speller's own first choice."""
        analysis = self._analyse(self.prepare(text))
        if analysis.findings:
            return analysis
        for other in self.speller.alternatives(normalise(text)):
            alternative = self._analyse(other)
            if alternative.findings:
                return alternative
        return analysis

    def _analyse(self, corrected: str) -> RuleAnalysis:
        from spacy.tokens import Span
        from spacy.util import filter_spans

        doc = self.nlp(corrected)
        lemmas = {t.lemma_ for t in doc}
        matches = [m for required, matcher in self._matchers
                   if all(words & lemmas for words in required) for m in matcher(doc)]
        by_concept: dict[str, list[Span]] = {}
        for match_id, start, end in matches:
            concept = self.nlp.vocab.strings[match_id]
            by_concept.setdefault(concept, []).append(Span(doc, start, end, label=concept))
        targets: list[Span] = []
        for spans in by_concept.values():
            # the longest match of a concept where several of its phrases overlap
            targets += filter_spans(spans)
        analysis = RuleAnalysis(text=corrected)
        if not any(s.label_ in self._rule_concepts for s in targets):
            # nothing a rule could use: most questions end here
            analysis.concepts = [ConceptSpan(s.label_, s.start, s.end, s.text) for s in targets]
            return analysis
        # ConText reads the concepts of the rules; "present" and idioms are words about
        # the message, not targets. A modifier never modifies a target it overlaps
        # (medspaCy's ConTextModifier.modifies): "not" in "can not breathe" negates
        # nothing inside it, and a comma or "and" ends its scope before the next concept.
        # Places, times and treatments (not_symptoms) are not targets either: "back" in
        # "back in 2020" must not hide the modifier it overlaps.
        doc.spans[SPAN_GROUP] = [s for s in targets if s.label_ in self._rule_concepts
                                 and s.label_ not in self.places]
        self._context(doc)

        spans = list(doc.spans[SPAN_GROUP])
        for span in spans:
            # A trigger word inside a concept ("not" in "can not breathe") modifies
            # nothing; medspaCy 1.3.1 misses that case (a one-sided overlap test), so
            # such modifiers are dropped here rather than by its pruning, which would
            # also drop a modifier that merely contains a concept ("since her stroke").
            # Spans over the same words share their extension attributes in spaCy
            # (keyed by character offsets, not label): "hurts" as chest_feeling gets the
            # modifiers ConText gave "hurts" as leg_red_hot, so a rule's ``excluded``
            # concepts are checked again here, per span.
            categories = {m.category for m in span._.modifiers
                          if m.allows(span.label_.upper()) and not any(
                              t.start <= m.modifier_span[0] and m.modifier_span[1] <= t.end
                              and (m.modifier_span[1] - m.modifier_span[0]) < len(t)
                              for t in spans)}
            analysis.concepts.append(ConceptSpan(
                span.label_, span.start, span.end, span.text,
                negated="NEGATED_EXISTENCE" in categories,
                hypothetical="HYPOTHETICAL" in categories,
                historical="HISTORICAL" in categories, family="FAMILY" in categories))
        analysis.concepts += [ConceptSpan(s.label_, s.start, s.end, s.text) for s in targets
                              if s.label_ not in self._rule_concepts
                              or s.label_ in self.places]
        analysis.active = self._active(analysis.concepts)
        analysis.findings = self._findings(analysis.active)
        return analysis

    def _active(self, concepts: list[ConceptSpan]) -> list[ConceptSpan]:
        idioms = [c for c in concepts if c.concept == "idiom"]
        kept = [c for c in concepts if c.concept != "idiom" and not any(
            i.start < c.end and c.start < i.end for i in idioms)]
        kept = [c for c in kept if not c.negated]
        marker_now = any(c.concept == "present" for c in kept)
        now_word = marker_now or any(c.concept == "now_word" for c in kept)
        if not marker_now and any(c.historical for c in kept):
            # Someone else's lasting deficit beside their past condition ("grandma had a
            # stroke 3 years ago and her foot drags"): part of that history, unless
            # something marks it as new or now. Acute signs (chest, breathing,
            # bleeding, collapse ...) are never treated so.
            for c in kept:
                if c.family and c.concept in self.residual:
                    c.historical = True
        present = [c for c in kept if c.concept not in self.not_symptoms
                   and not c.hypothetical and not c.historical]

        def lifted(c: ConceptSpan) -> bool:
            """History counts only when nothing in the message is present: no
            "today / this morning / since / suddenly", and no present symptom of the same
            kind ("I had a heart attack years ago and my chest is crushing now"). "Now"
            alone is not enough ("... and I'm doing great now")."""
            mine = self._categories_of.get(c.concept, set())
            return marker_now or any(p is not c and mine & self._categories_of.get(p.concept, set())
                                     for p in present)

        # A risk question is generic unless something is happening now.
        return [c for c in kept
                if not (c.hypothetical and not (present or now_word))
                and not (c.historical and not lifted(c))]

    def _findings(self, active: list[ConceptSpan]) -> list[Finding]:
        have: dict[str, list[ConceptSpan]] = {}
        for c in active:
            have.setdefault(c.concept, []).append(c)
        findings = []
        for category, spec in self.categories.items():
            if any(u in have for u in spec.get("unless", [])):
                continue
            for rule in spec["rules"]:
                if any(u in have for u in rule.get("unless", [])):
                    continue
                evidence = _combination(have, rule["all"], rule.get("near"))
                if evidence is None:
                    continue
                tier = spec["tier"]
                if tier != "911" and any(u in have for u in spec.get("upgrade", [])):
                    tier = "911"
                findings.append(Finding(category, tier, tuple(s.text for s in evidence)))
                break
        return sorted(findings, key=lambda f: self.tiers.index(f.tier))


def _import_context() -> tuple[Any, Any]:
    """medspaCy's ConText classes. medspaCy runs ``warnings.filterwarnings("ignore")``
    when imported (medspacy/common/medspacy_matcher.py), which would silence every
    warning of the whole process (Rasa's among them); the filters are restored."""
    import warnings

    with warnings.catch_warnings():
        from medspacy.context import ConText, ConTextRule
    return ConText, ConTextRule


def _combination(have: dict[str, list[ConceptSpan]], concepts: list[str],
                 near: int | None) -> list[ConceptSpan] | None:
    if any(c not in have for c in concepts):
        return None
    if near is None or len(concepts) < 2:
        return [have[c][0] for c in concepts]
    for a in have[concepts[0]]:
        for b in have[concepts[1]]:
            gap = max(a.start, b.start) - min(a.end, b.end)
            if gap <= near and (a.start, a.end) != (b.start, b.end):
                return [a, b] + [have[c][0] for c in concepts[2:]]
    return None


def _required_words(pattern: list[dict[str, Any]]) -> list[frozenset[str]]:
    """For each required token of ``pattern``, the lemmas it accepts."""
    required = []
    for token in pattern:
        lemma = token.get("LEMMA")
        if "OP" in token or lemma is None:
            continue
        required.append(frozenset(lemma["IN"] if isinstance(lemma, dict) else [lemma]))
    return required


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key written twice (YAML would keep the last)."""


def _mapping(loader: _StrictLoader, node: Any) -> dict[Any, Any]:
    keys = [loader.construct_object(k) for k, _ in node.value]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"{node.start_mark}: keys written twice: {duplicates}")
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
