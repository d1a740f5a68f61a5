"""Red-flag triage: decides whether a patient's message must go to emergency care, to
same-day care, or to crisis support, before anything else the bot does.

    triage = Triage.load()                       # rules + the trained classifier
    triage.assess("my chest is crushing and my left arm aches")
    -> Assessment(tier="911", findings=(Finding(category="cardiac", ...),), ...)

Two layers, either of which can raise the flag (README.md in this folder):
- rules (rules.py): lay-word concepts, their ConText, combined per category;
- a classifier (classifier.py) trained on the triage corpus, threshold chosen on dev.
The Rasa NLU component (clinic_assistant/rasa/components.py) only calls this.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clinic_assistant.clinic.answers import POSSIBLE_EMERGENCY_INTENT
from clinic_assistant.triage.french import french_findings, gloss, looks_french
from clinic_assistant.triage.rules import Finding, RuleAnalysis, RuleLayer

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
CLASSIFIER_PATH = Path("build/triage/classifier.joblib")  # relative to the project root
# The clinic's entity pipeline (clinic_assistant/nlp/, built by make): which messages name
# a condition ("my fibro", "sciatica", "had her hip done").
CONDITIONS_PATH = Path("build/clinic_spacy")
# A classifier-only alarm on a statement about a long-standing condition with no red-flag
# word (below) is set aside unless the classifier is at least this sure. Chosen on cross-
# validation, dev and the pending rounds (README.md in this folder), never on test.
CONDITION_STATEMENT_BELOW = 0.9
# A statement about a named condition is set aside only when the condition is one of
# these: the clinic's own seven (label ``condition``) and musculoskeletal problems of the
# entity lexicon's ``other_condition`` (never anxiety or depression, cancer, pregnancy,
# MS, a stroke, a concussion or whiplash, a herniated disc, osteoporosis, vertigo: each
# is the setting of a red flag).
STATEMENT_CONDITIONS = frozenset({
    "arthritis", "plantar fasciitis", "carpal tunnel syndrome", "scoliosis", "bursitis",
    "knee pain", "hip pain", "foot pain", "wrist pain", "gout", "lupus", "bunions",
    "ankylosing spondylitis", "hypermobility", "flat feet", "restless legs",
    "trigger finger", "osgood-schlatter"})
# What such a statement may name besides: places, plain pain words, back pain, constant
# or night-time pain, "now", figures of speech, and how long it has lasted. Anything
# else the lexicon knows keeps the classifier's alarm: a symptom of any category, sudden
# onset, getting worse or spreading, "right now", "new"; a fall or an accident, an
# operation, a cast or a pregnancy; a treatment; cancer, blood thinners, heart history,
# an allergy, breathing, means of self-harm.
# What effort brings on and rest eases, and work of the arms (the words of the heart rules
# for effort), say when it hurts, like a duration: "my back tightens up from shovelling".
_WHEN_IT_HURTS = frozenset({"exertion", "rest_relief", "arm_work"})
_STATEMENT_WORDS = frozenset({"now_word", "idiom", "back_pain", "night_pain", "long_standing"}) | _WHEN_IT_HURTS
# The words that allow the bot's answer after the emergency reply of a classifier-only
# alarm (``Triage._answer_may_follow``, below), when the classifier is less sure than
# ANSWER_MAY_FOLLOW_BELOW. The train and dev emergencies that the classifier alone caught in such words scored 0.79,
# 0.92 and 0.97 ("trying to go to the toilet but nothing happens, it's been like 12
# hours", "half my face feels frozen", "soaked right through my shirt and still running
# red"); the everyday alarms of the NLU dev sets 0.50-0.95, three in four below 0.75.
# Stricter than a statement's words (a fresh-eyes review: "my left leg is swollen and
# shiny for weeks now" qualified when every place and quality word did): the back, neck,
# head and legs and a side of the body as places, back pain, "now", figures of speech and
# durations, and pain words only when plain (below); never a chest, the jaw or a left arm,
# a needle site, a pressing, crushing or heavy feeling, a swollen, red or hot leg, or pain
# that wakes at night.
_ANSWER_MAY_FOLLOW = frozenset({"back", "neck", "head", "calf_leg", "one_side", "back_pain",
                                "now_word", "idiom", "long_standing"}) | _WHEN_IT_HURTS
_PAIN_WORDS = frozenset({"pain", "pains", "painful", "hurt", "hurts", "hurting", "ache", "aches",
                         "ached", "aching", "achy", "sore", "tight", "tightness", "tighten",
                         "tightens", "tightening", "discomfort", "burn", "burns", "burning",
                         "sharp", "stab", "stabbing"})
_PLAIN_PAIN = {
    "chest_feeling": _PAIN_WORDS,
    "pressing_feeling": _PAIN_WORDS,  # the same words, read for the heart rules for effort
    "leg_red_hot": _PAIN_WORDS | {"tender", "cramp", "cramping", "throbbing"},
    # how long it lasts, not when it hurts ("constant ache in my low back")
    "night_pain": frozenset({"constant", "constantly", "all the time", "non stop", "nonstop",
                             "will not quit", "does not go away", "will not go away",
                             "never lets up", "does not let up"}),
    # pain going down the back of a leg: not heart pain spreading into the back
    "arm_jaw": frozenset({"down the back", "down my back"}),
}
ANSWER_MAY_FOLLOW_BELOW = 0.75

# Tier -> the intent that carries it through the dialogue (domain/assistant.yml,
# data/rules/safety.yml). Most urgent first: the first tier found decides the reply.
TIER_INTENTS = {
    "crisis": "red_flag_crisis",
    "911": "red_flag_emergency",
    "same_day": "red_flag_same_day",
}
# A 911 finding of the classifier alone (the rules found nothing), in a message the bot
# also understood as a question or a statement it can answer ("I have gout in my big
# toe"): the emergency reply first, then that answer (RedFlagTriage in
# clinic_assistant/rasa/components.py; data/rules/safety.yml). The classifier raises many
# alarms on everyday statements; the emergency reply still comes first for each of them.
RED_FLAG_INTENTS = (*TIER_INTENTS.values(), POSSIBLE_EMERGENCY_INTENT)
# The classifier's character n-grams say little about a very short message ("nope not
# right now" scored 0.73); short red flags are keyword-like and the rules' job.
CLASSIFIER_MIN_WORDS = 5
# Words of quality ("pain", "hurt", "swollen") that are no symptom on their own.
_QUALITIES = frozenset({"chest_feeling", "pressing_feeling", "leg_red_hot", "leg_swollen"})

__all__ = ["Assessment", "Finding", "Triage", "TIER_INTENTS", "RED_FLAG_INTENTS",
           "POSSIBLE_EMERGENCY_INTENT", "CLASSIFIER_PATH"]


@dataclass(frozen=True)
class Assessment:
    """Triage's decision on one message."""

    tier: str | None  # "crisis" | "911" | "same_day", or None: no red flag
    findings: tuple[Finding, ...]
    classifier_score: float
    analysis: RuleAnalysis
    # A 911 decision of the classifier alone in a message whose lexicon words are only
    # places, plain pain words and how long it has lasted (``_ANSWER_MAY_FOLLOW``): the
    # bot's answer may follow the emergency reply (POSSIBLE_EMERGENCY_INTENT).
    answer_may_follow: bool = False

    @property
    def urgent(self) -> bool:
        return self.tier is not None

    @property
    def intent(self) -> str | None:
        return TIER_INTENTS[self.tier] if self.tier else None


class ConditionFinder:
    """Whether a text names a condition, by the clinic's entity pipeline (the entity
    ruler of clinic_assistant/nlp/entities.yml: "fibro", "my sciatica", "tennis elbow")."""

    def __init__(self, path: Path) -> None:
        import spacy

        if not path.exists():
            raise FileNotFoundError(
                f"the clinic spaCy pipeline {path} is missing: build it with "
                f"`python -m clinic_assistant.nlp.build` (make does this)")
        self.nlp = spacy.load(path)

    def __call__(self, text: str) -> bool:
        """Whether the text names a condition of STATEMENT_CONDITIONS."""
        return any(e.label_ == "condition" or (e.label_ == "other_condition"
                                               and e.ent_id_ in STATEMENT_CONDITIONS)
                   for e in self.nlp(text).ents)


class Triage:
    def __init__(self, rules: RuleLayer, classifier: "object | None",
                 conditions: "ConditionFinder | None" = None) -> None:
        from clinic_assistant.triage.classifier import ClassifierModel

        self.rules = rules
        self.classifier: ClassifierModel | None = classifier  # type: ignore[assignment]
        self.conditions = conditions
        self._tiers = rules.tiers

    @classmethod
    def load(cls, classifier_path: Path | str | None = CLASSIFIER_PATH) -> "Triage":
        """Rules and the classifier built by ``make`` (``python -m
        clinic_assistant.triage.build``); ``classifier_path=None``: rules only."""
        from clinic_assistant.triage import classifier as learned

        model = None
        if classifier_path is not None:
            path = Path(classifier_path)
            if not path.is_absolute():
                path = PROJECT_ROOT / path
            if not path.exists():
                raise FileNotFoundError(
                    f"triage classifier {path} is missing: build it with "
                    f"`python -m clinic_assistant.triage.build` (make does this)")
            model = learned.load(path)
        conditions = ConditionFinder(PROJECT_ROOT / CONDITIONS_PATH) if model else None
        return cls(RuleLayer(), model, conditions)

    def prepare(self, text: str) -> str:
        """The text both layers read: normalised, misspellings corrected."""
        return self.rules.prepare(text)

    def _top_tier(self, findings: list[Finding]) -> str | None:
        return next((t for t in self._tiers if any(f.tier == t for f in findings)), None)

    def assess(self, text: str) -> Assessment:
        # A message in French is read in the English words of its gloss (french.yml).
        french = looks_french(text)
        analysis = self.rules.analyse(gloss(text) if french else text)
        findings = list(analysis.findings)
        rules_tier = self._top_tier(findings)
        score = 0.0 if french else self.classifier_score(analysis)
        if self.classifier is not None and score >= self.classifier.threshold:
            category = self.classifier.category(analysis.text)
            if not self._denied(analysis, category):
                # "Rules or classifier": where the rules saw no red flag, the classifier's
                # finding is 911 (crisis support for a crisis), never only same-day
                # care; where they saw a same-day one, it can still raise the tier when it
                # names a crisis or a 911 category.
                tier = "crisis" if category == "crisis" else "911"
                more_urgent = rules_tier == "same_day" and (
                    category == "crisis" or self.rules.categories[category]["tier"] == "911")
                if rules_tier is None or more_urgent:
                    findings.append(Finding(category, tier, (), source="classifier"))
        if not findings:  # French wordings the gloss misses, or too short to look French
            findings = [f for f in french_findings(text)
                        if not (french and self._discounted(analysis, f.category))]
        decided = self._top_tier(findings)
        return Assessment(decided, tuple(findings), score, analysis,
                          answer_may_follow=self._answer_may_follow(decided, findings, analysis, score))

    def _answer_may_follow(self, tier: str | None, findings: list[Finding],
                           analysis: RuleAnalysis, score: float) -> bool:
        """Whether the bot's answer may follow the emergency reply: the classifier alone
        said 911 (the rules, the French fallback and the crisis category said nothing),
        less than ANSWER_MAY_FOLLOW_BELOW sure, and every word the lexicon read, negated
        or not, is one of _ANSWER_MAY_FOLLOW (the back, neck, head or legs, back pain,
        "now", a figure of speech or how long it has lasted) or a plain pain word
        (_PLAIN_PAIN: "sore", "aching", "tight"). Anything else keeps the
        emergency reply alone: a chest, jaw, arm or needle site, a pressing feeling, a
        swollen or red leg, constant or night-time pain, a symptom of any category
        (numbness, weakness, breathlessness, dizziness ...), sudden onset,
        getting worse, today / since yesterday / new, after a treatment or needling, a
        fall or an accident, an operation, a cast or a flight, pregnancy, cancer, blood
        thinners, heart history, an allergy, self-harm. The answers that may follow
        are chosen in clinic_assistant/clinic/answers.py (``answers_after_alarm``)."""
        if tier != "911" or any(f.source != "classifier" for f in findings):
            return False
        if analysis.findings or score >= ANSWER_MAY_FOLLOW_BELOW:
            return False
        return all(c.concept in _ANSWER_MAY_FOLLOW or c.text in _PLAIN_PAIN.get(c.concept, ())
                   for c in analysis.concepts)

    def _discounted(self, analysis: RuleAnalysis, category: str) -> bool:
        """The rules read words of ``category`` and none of them counts (negated, past,
        a risk question, a figure of speech): "pas de douleur à la poitrine"."""
        mine = [c for c in analysis.concepts if category in self.rules.categories_of(c.concept)
                and c.concept not in self.rules.places]
        return bool(mine) and not any(
            c in analysis.active and not c.historical and not c.hypothetical for c in mine)

    def classifier_score(self, analysis: RuleAnalysis) -> float:
        """The classifier's P(urgent) for a message, or 0 where it is not asked: a
        message under CLASSIFIER_MIN_WORDS words, or one whose every symptom is
        explicitly denied; 0 too, below CONDITION_STATEMENT_BELOW, for a statement about
        a long-standing condition (``_condition_statement``). A figure of speech is taken
        out of the text before scoring ("I cut myself shaving, can I still come in?" is
        scored without "cut myself shaving"). Used by assess() and by build.py, so the
        threshold is chosen on what runs."""
        if self.classifier is None or len(analysis.text.split()) < CLASSIFIER_MIN_WORDS:
            return 0.0
        if self._denied(analysis):
            return 0.0
        text = analysis.text
        for concept in analysis.concepts:
            if concept.concept == "idiom":
                text = text.replace(concept.text, " ")
        if len(text.split()) < CLASSIFIER_MIN_WORDS - 2:
            return 0.0
        score = self.classifier.score(" ".join(text.split()))
        if score < CONDITION_STATEMENT_BELOW and self._condition_statement(analysis):
            return 0.0
        return score

    def _condition_statement(self, analysis: RuleAnalysis) -> bool:
        """A message about a long-standing condition it names ("My husband has sciatica
        on his right side, he's been dealing with it since harvest", "my fibro gets
        worse every winter"): the rules found no red flag, the condition is one of
        STATEMENT_CONDITIONS, the message says how long it has lasted or how it keeps
        coming back (``long_standing``), and the lexicon read nothing else than
        _STATEMENT_WORDS and places. The classifier's character n-grams learned
        "sciatica", "my back" and "since" from emergencies and would send such a
        statement to 911; on its own, and less than sure, it is not asked to overrule
        what the message says it is."""
        if self.conditions is None or analysis.findings:
            return False
        concepts = {c.concept for c in analysis.concepts}
        if "long_standing" not in concepts:
            return False
        if concepts - (self.rules.places | _QUALITIES | _STATEMENT_WORDS):
            return False
        return self.conditions(analysis.text)

    def _denied(self, analysis: RuleAnalysis, category: str | None = None) -> bool:
        """Every symptom the message names (of ``category``, when given) is explicitly
        denied in its own clause ("I don't have any chest pain or shortness of breath";
        "my back hurts but no numbness in my groin" for cauda equina) or is part of a
        figure of speech: the classifier, which reads neither, is not asked to overrule
        that. History and risk questions are not vetoed: in doubt, the second opinion
        stands."""
        idioms = [c for c in analysis.concepts if c.concept == "idiom"]
        symptoms = [c for c in analysis.concepts if c.concept not in self.rules.not_symptoms
                    and c.concept not in _QUALITIES and c.concept != "idiom"]
        if category is not None:
            symptoms = [c for c in symptoms if category in self.rules.categories_of(c.concept)]
        return bool(symptoms) and all(
            c.negated or any(i.start < c.end and c.start < i.end for i in idioms)
            for c in symptoms)
