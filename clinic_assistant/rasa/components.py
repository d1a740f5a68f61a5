"""Custom Rasa NLU components of the clinic assistant (named in ``config.yml``)."""
# No `from __future__ import annotations` here: Rasa matches component inputs by
# their (evaluated) type hints.

import fnmatch
import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import (
    LogisticRegressionClassifier,
)
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_assistant.clinic.answers import POSSIBLE_EMERGENCY_INTENT, answers_after_alarm
from clinic_assistant.triage.spelling import plain_apostrophes


# Answers about how a patient feels or what to do after needling: never after an
# emergency reply (clinic_assistant/clinic/answers.py, FAQ_AFTER_ALARM)
_AFTER_NEEDLING = frozenset({"faq_soreness_after", "faq_aftercare"})
# The classifier's intent of a message whose intent ConditionStatementResolver changed.
READ_FIRST_AS = "read_first_as"

# The patient's own words, kept on the message when PatientTextGuard rewrites the text
# that the rest of the pipeline sees.
ORIGINAL_TEXT = "original_text"
_PAYLOAD_INTENT = re.compile(r"^/\s*([A-Za-z_][\w/.-]*)\s*(?:[{@].*)?$", re.DOTALL)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class PatientTextGuard(GraphComponent):
    """First in the pipeline: decides what the rest of the pipeline reads.

    - A message like "/request_booking" names an intent directly (Rasa's payload
      syntax, which Rasa applies after the pipeline). Only the payloads the
      assistant's own buttons send are kept (``payload_intents``, "*" wildcards
      allowed); any other intent name a patient types,
      like "/faq" or "/restart", becomes ``unclear_intent`` ("could you say it another
      way?"). A slash before ordinary words ("/ where are you") is just dropped.
    - A message longer than ``max_characters`` becomes the ``too_long_intent`` payload,
      so the patient is asked for a shorter question instead of getting a guess.
    - A message with no letters or digits at all (empty, only emoji or punctuation) becomes
      ``unclear_intent``: there are no words to understand.

    The patient's original text stays on the message under ``original_text``.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "payload_intents": [],
            "max_characters": 2000,
            "too_long_intent": "message_too_long",
            "unclear_intent": "unclear",
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._payload_intents = set(config["payload_intents"])
        self._max_characters = int(config["max_characters"])
        self._too_long = f"/{config['too_long_intent']}"
        self._unclear = f"/{config['unclear_intent']}"

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "PatientTextGuard":
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text is not None:  # "" too: no words, and the classifier fails on no features
                message.set(ORIGINAL_TEXT, text)
                message.set(TEXT, self.text_for_pipeline(text))
        return messages

    def text_for_pipeline(self, text: str) -> str:
        if len(text) > self._max_characters:
            return self._too_long
        if not any(character.isalnum() for character in text):
            return self._unclear
        if not text.startswith("/"):
            return text
        match = _PAYLOAD_INTENT.match(text)
        if match is None:
            return text.lstrip("/").strip()
        intent = match.group(1)
        if any(fnmatch.fnmatchcase(intent, allowed) for allowed in self._payload_intents):
            return text
        return self._unclear


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=False,
    model_from="SpacyNLP",
)
class ClinicEntityExtractor(SpacyEntityExtractor):
    """``SpacyEntityExtractor`` that reports each entity's canonical value.

    The clinic pipeline's entity ruler tags "my jaw clicks" as a ``condition`` whose
    pattern id is "TMJ dysfunction"; this extractor passes that id on as the entity's
    value (``start``/``end`` still point at the words the patient used). It also reuses the doc
    that ``SpacyNLP`` already made for the message instead of parsing it again: the
    clinic's patterns match lower-cased lemmas, so the lower-cased doc is what they need.
    """

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            doc = message.get(SPACY_DOCS[TEXT]) or model.model(text.lower())
            extracted = self.add_extractor_name(self._extract_entities(doc))
            extracted = self.filter_irrelevant_entities(
                extracted, self._config["dimensions"]
            )
            message.set(
                ENTITIES, message.get(ENTITIES, []) + extracted, add_to_output=True
            )
        return messages

    @staticmethod
    def _extract_entities(doc: Any) -> List[Dict[Text, Any]]:
        return [
            {
                "entity": ent.label_,
                "value": ent.ent_id_ or ent.text,
                "start": ent.start_char,
                "end": ent.end_char,
                "confidence": None,
            }
            for ent in doc.ents
        ]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class RedFlagTriage(GraphComponent):
    """Last in the pipeline: a red flag overrides whatever the classifiers decided.

    Calls ``clinic_assistant.triage`` (rules on lay-word concepts with ConText, and a
    classifier as second opinion) on the patient's full original text. When it finds a
    red flag, the intent becomes the tier's intent (``red_flag_emergency`` for 911,
    ``red_flag_same_day``, ``red_flag_crisis``) with confidence 1, the deciding category
    is added as a ``red_flag`` entity over the whole message, and the decision is kept on the
    message under ``triage`` for the conversation log. The rules then send that tier's
    reply and nothing else, on every channel, whatever was going on; except that an
    unsure 911 alarm of the classifier alone in plain pain words
    (``Assessment.answer_may_follow``) on a message the pipeline understood as an answer
    it may give after it (``answers_after_alarm``) becomes ``red_flag_possible_emergency``
    with that understanding kept under ``triage.answer_after``: the 911 reply, then the
    answer (actions/after_alarm.py).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        from clinic_assistant.triage import CLASSIFIER_PATH

        return {"classifier": str(CLASSIFIER_PATH)}

    def __init__(self, config: Dict[Text, Any]) -> None:
        from clinic_assistant.triage import Triage

        self._triage = Triage.load(config["classifier"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagTriage":
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            original = message.get(ORIGINAL_TEXT) or message.get(TEXT)
            if not original or _PAYLOAD_INTENT.match(original):
                continue  # no words, or one of our own buttons
            assessment = self._triage.assess(original)
            if not assessment.urgent:
                continue
            understood = message.get(INTENT) or {}
            answer_after = None
            # a message the classifier read as soreness or care after needling keeps the
            # emergency reply alone, also when ConditionStatementResolver chose another
            # answer for it (its intent before that is kept under READ_FIRST_AS)
            if assessment.answer_may_follow and answers_after_alarm(understood.get("name")) \
                    and message.get(READ_FIRST_AS) not in _AFTER_NEEDLING:
                # The classifier alone raised the alarm on a question or statement the bot
                # understood: the emergency reply first, then that answer.
                answer_after = {"name": understood["name"],
                                "confidence": float(understood.get("confidence") or 0.0)}
            intent = {"name": POSSIBLE_EMERGENCY_INTENT if answer_after else assessment.intent,
                      "confidence": 1.0}
            ranking = [intent] + [
                r for r in message.get(INTENT_RANKING_KEY, []) if r.get("name") != intent["name"]
            ]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            # One entity for the log and the test stories: the category that decided
            # the reply, over the patient's whole message; every finding is in "triage".
            decided = next(f for f in assessment.findings if f.tier == assessment.tier)
            entity = {"entity": "red_flag", "value": decided.category, "start": 0,
                      "end": len(original), "confidence": None, "extractor": "RedFlagTriage"}
            message.set(ENTITIES, message.get(ENTITIES, []) + [entity], add_to_output=True)
            message.set("triage", {
                "tier": assessment.tier,
                "findings": [{"category": f.category, "tier": f.tier, "source": f.source,
                              "evidence": list(f.evidence)} for f in assessment.findings],
                "classifier_score": round(assessment.classifier_score, 3),
                **({"answer_after": answer_after} if answer_after else {}),
            }, add_to_output=True)
            # Rasa reads a leading "/" as an intent payload after the pipeline; the
            # patient's words (never a payload) go on, so nothing overrides the flag.
            message.set(TEXT, original.lstrip("/"))
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class ClinicIntentClassifier(LogisticRegressionClassifier):
    """Rasa's ``LogisticRegressionClassifier`` with ``class_weight`` and ``C`` settable.

    Rasa fixes ``class_weight="balanced"``, which gives every intent the same total
    weight. Our out-of-scope intent has the most, and most varied, examples, so
    balancing makes each of them count for less: in 5-fold cross-validation on the
    training data, out-of-scope recall was 0.67 balanced and 0.78 unweighted, at the
    same overall accuracy (0.69 both).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "class_weight": "balanced",
            "C": 1.0,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        name: Text,
        model_storage: ModelStorage,
        resource: Resource,
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(class_weight=self.config["class_weight"], C=self.config["C"])


# --- issue #16: typos, statements, other languages ---------------------------------------
def _choose_intent(message: Message, name: Text, confidence: float) -> None:
    """Makes ``name`` the message's intent with ``confidence``; the other intents of
    the ranking share the rest in their old proportions, so the fallback's ambiguity
    check compares the chosen intent with what is really left."""
    others = [dict(r) for r in message.get(INTENT_RANKING_KEY, []) if r.get("name") != name]
    total = sum(float(r.get("confidence") or 0.0) for r in others)
    for ranked in others:
        share = float(ranked.get("confidence") or 0.0) / total if total else 0.0
        ranked["confidence"] = (1.0 - confidence) * share
    chosen = {"name": name, "confidence": confidence}
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen] + others, add_to_output=True)



# Texting shortcuts spelled out before the words are checked ("wat r ur hours").
_SHORTCUTS = {
    "u": "you", "ur": "your", "r": "are", "y": "why", "wat": "what", "wut": "what", "wht": "what",
    "hw": "how", "thx": "thanks", "ty": "thank you", "pls": "please", "plz": "please",
    "b4": "before", "tmrw": "tomorrow", "2day": "today", "cuz": "because", "bc": "because",
    "appt": "appointment", "appts": "appointments", "hrs": "hours", "dr": "doctor",
    "physio's": "physio", "im": "i'm", "dont": "don't", "cant": "can't", "wont": "won't",
    "doesnt": "doesn't", "isnt": "isn't", "whats": "what's", "hows": "how's",
    "wut's": "what's", "wat's": "what's", "wats": "what's", "thats": "that's", "blu": "blue", "hav": "have",
    "hv": "have", "nmbr": "number", "cya": "see you", "abt": "about", "rly": "really",
    "sry": "sorry", "nvm": "never mind", "tho": "though", "wrk": "work", "wk": "week",
    "wks": "weeks", "wknd": "weekend", "wkend": "weekend", "tues": "tuesday",
    "thurs": "thursday", "probs": "probably", "msg": "message", "txt": "text", "yr": "year",
    "yrs": "years", "info": "information", "thnx": "thanks", "thnks": "thanks", "thks": "thanks",
    "thanx": "thanks", "tnx": "thanks", "mths": "months", "mnths": "months", "sched": "schedule",
}
_TEXT_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
_VOWELS = frozenset("aeiouy")
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-xz]{5}")
UNCLEAR_INTENT = "unclear"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True
)
class ClinicSpeller(GraphComponent):
    """Corrects misspelled words to the bot's own vocabulary before anything reads them.

    The vocabulary is every word of the training data and of the entity lexicon
    (``clinic_assistant/nlp/entities.yml``) with how often it occurs, collected at
    training time and kept in the model; of equally close words the most frequent wins. A word that is in the vocabulary or is common English is never changed;
    any other word of 4+ letters is corrected to the nearest vocabulary word within
    one edit (two from 10 letters; never a different first letter) with ``symspellpy``
    (clinic_assistant/triage/spelling.py's ``Speller``), and texting shortcuts are
    spelled out ("wat r ur hours" -> "what are your hours"). The patient's own words
    stay on the message as ``original_text``: the red-flag check and the log read those.
    """

    VOCABULARY_FILE = "vocabulary.json"

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: Dict[Text, int]) -> None:
        from clinic_assistant.triage.spelling import Speller, english_words

        self._storage, self._resource = model_storage, resource
        self._speller = Speller(vocabulary, counts=vocabulary, rare_typos=True)
        self._known = set(vocabulary) | english_words() | set(_SHORTCUTS)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ClinicSpeller":
        return cls(config, model_storage, resource, {})

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "ClinicSpeller":
        import json

        try:
            with model_storage.read_from(resource) as folder:
                vocabulary = json.loads((folder / cls.VOCABULARY_FILE).read_text())
        except (ValueError, FileNotFoundError):
            vocabulary = {}
        return cls(config, model_storage, resource, vocabulary)

    def train(self, training_data: TrainingData) -> Resource:
        import json

        from clinic_assistant.nlp.build import lexicon_words

        from collections import Counter

        counts = Counter(w.lower() for example in training_data.training_examples
                         for w in _TEXT_WORD.findall(example.get(TEXT) or ""))
        counts.update(lexicon_words())
        with self._storage.write_to(self._resource) as folder:
            (folder / self.VOCABULARY_FILE).write_text(json.dumps(dict(sorted(counts.items()))))
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # its words are the vocabulary: nothing to correct

    def correct(self, text: str) -> str:
        def fix(match: "re.Match[str]") -> str:
            word = match.group(0)
            lower = word.lower()
            if lower in _SHORTCUTS:
                return _SHORTCUTS[lower]
            if "'" in lower:
                return word
            corrected = self._speller.correct_word(lower)
            return word if corrected == lower else corrected

        return _TEXT_WORD.sub(fix, text)

    def keyboard_mash(self, text: str) -> bool:
        """Up to three words, every one unknown (not in the vocabulary, not common English)
        and shaped like no word: 4+ letters without a vowel, or 5 consonants in a row
        ("jkfdjkfd", "asdfgh"). Such a message gets the "could you say it another way?"
        answer (``unclear``), not the classifier's guess from its character n-grams
        ("jsdhfjsdk" was "yes")."""
        words = [w.lower() for w in _TEXT_WORD.findall(text)]
        if not words or len(words) > 3 or any(c.isdigit() for c in text):
            return False
        return all(w not in self._known and len(w) >= 4
                   and (not _VOWELS.intersection(w) or _CONSONANT_RUN.search(w) is not None) for w in words)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text and not text.startswith("/"):
                message.set(TEXT, f"/{UNCLEAR_INTENT}" if self.keyboard_mash(text) else self.correct(text))
        return messages


# A treatment, or the time after one, named in a message ("sore after my session", "the
# day after", "since you worked on it", "is that normal?"): soreness or aftercare after
# needling, which the after-treatment rule leaves alone.
_TREATMENT_WORDS = re.compile(
    r"\b(needl\w*|sessions?|treatments?|treated|tx|appointments?|appts?|visits?|physio\w*|ims|therap\w*"
    r"|massage\w*|acupunctur\w*|poked|pins|worked on|came in|seeing|saw (you|the|my)|normal|later"
    r"|since (you|i came|i was in|i saw)|advil|ibuprofen|tylenol|ice|heat)\b"
    r"|\bafter(wards?)?\W*$|\bafter(wards?)?[.,!?]|\bafter (it|that|this|them)\b"
    r"|\b(day|night|morning) after\b|\bnext (day|morning)\b|\b\d+ days? (later|after)\b", re.I)
# Asking to book in so many words: "I'd like to book my son in", "can I make an appointment
# for my wife?", "please book me for needling", "ok how do I get in?" (not "get in touch").
# Not "I don't want to book yet", "do I need to book or can I walk in", "can I book if I'm
# pregnant" (_NOT_BOOKING).
_BOOKING_REQUEST = re.compile(
    r"\b(i'?d like to|i would like to|i want to|i wanna|can i|could i|may i|i'?d love to|please|pls"
    r"|how (do|can) i|let me|help me)\s+(book|make an? (appointment|appt)|schedule an? (appointment|appt|visit)"
    r"|set up an? (appointment|appt|visit)|get an? (appointment|appt))\b|\bbook (me|him|her|us|them|my \w+)( \w+)? in\b"
    r"|^\W*(?:(?:ok|okay|yes|yeah|sure|great|perfect|then|just|please|pls)\W+)*book (me|us|him|her)\b"
    r"|\bhow (do|can|would) (i|we) get (in|seen)\b(?!\s+touch|\s+(to|the|at) (the )?(building|door|parking|lot|clinic))",
    re.I)
_NOT_BOOKING = re.compile(r"n't|\bnot\b|\bif\b|\bwithout\b|\bwalk.?in|\bneed to\b|\bbefore\b|\buntil\b", re.I)
# ... nor, for a message the classifier read as another answer, with a second question
# after "or": "can I book a weekend appointment or are you only open weekdays?"
_SECOND_QUESTION = re.compile(r"\bor (are|do|is|does|can|will|would) (you|they|it|there)\b", re.I)
# Asking whether needling is safe given a condition that is not on the page ("is it ok
# while I'm breastfeeding?", "are they safe if I'm pregnant?", "is it safe with my
# pacemaker?"): personal medical advice, not whether it would help that condition.
_SAFE_GIVEN = re.compile(r"\b(safe|unsafe|risky|risk|dangerous|harm\w*)\b"
                         r"|\b(ok|okay|alright|all right|fine)\b.*\b(while|if|when|during|since|with|for (me|her|him|them|us))\b", re.I)
# Asking how soon, which is what is free ("how soon could I get in?"), not asking to book.
_HOW_SOON = re.compile(r"\bhow (soon|quickly|fast)\b|\bhow long (until|till|til|before|is the wait|of a wait)\b"
                       r"|\bearliest\b|\bnext (available|opening|spot)\b", re.I)
# Asking about a day or a time of day ("do you take Saturday appointments?", "anything
# before 8 in the morning?"): when the clinic is open, the hours answer, unless it asks
# what is free then or with whom (_ASKS_WHAT_IS_FREE: "do you have anything tuesday
# afternoon?", "what about this thursday around 5?").
_ASKS_WHEN_OPEN = re.compile(
    r"\b(mon|tues|wednes|thurs|fri|satur|sun)days?\b|\bweekends?\b"
    r"|\b(mornings?|evenings?|afternoons?|nights?|lunch ?(hour|time|break)?|after work|after school|before work)\b"
    r"|\b(early|late)\b|\b(before|after|past|by) \d|\d ?(am|pm|a\.m\.|p\.m\.|o'?clock)\b", re.I)
_ASKS_WHAT_IS_FREE = re.compile(
    r"\bopenings?\b|\bavailab|\bfree\b|\bspots?\b|\bslots?\b|\bwait|\bsoon\b|\bearliest\b|\bnext\b"
    r"|\bwho\b|\bworking\b|\bphysio|\btherapist|\bget in\b|\bfit (me|him|her|us) in\b|\bcancell?ations?\b"
    r"|\bthis week\b|\btomorrow\b|\btoday\b|\btonight\b|\b(anything|something|room|space)\b"
    r"|\b(this|next|coming) (mon|tues|wednes|thurs|fri|satur|sun)day\b", re.I)
# Asking how serious a symptom is, or whether it will pass: medical advice, which the bot
# does not give (it says so and points to a doctor, a pharmacist or Health Link). Only
# with a symptom or condition named and no treatment (_TREATMENT_WORDS): "is it serious
# if I get a bruise from the needles?" is about safety, "I'm sore after my session, will
# it go away on its own?" about soreness after needling.
_HOW_SERIOUS = re.compile(
    r"\b(is|could|would|might)\s+(it|that|this)\s+(be\s+)?(something\s+)?(serious|worrying|concerning)\b"
    r"|\b(it|that)'?s\s+something\s+serious\b|\bis it bad that\b"
    r"|\bwill (it|that|this) (pass|go away|get better) on its own\b"
    r"|\bor will it pass\b", re.I)
# A question about all the conditions that names one only to set it aside: "what else do
# you treat besides sciatica?", "is it only for sports injuries?"
_BESIDES = re.compile(r"\b(besides|other than|only|except|else|apart from|just for)\b", re.I)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class ConditionStatementResolver(GraphComponent):
    """A message that names a condition, or a complaint at a body part, gets the
    condition answer unless the intent classifier is sure of another answer.

    Patients often describe instead of asking ("my shoulders are always tight and
    knotted", "pulled my hamstring playing hockey"): there is no question for the
    classifier to recognise, but the entity extractor finds the condition. After the
    classifier, before the fallback: if the message has a ``condition`` or
    ``other_condition`` entity (or a ``body_part`` with a complaint word) and the top
    intent is below ``prefer_entity_below``, or is one of ``weak_intents``
    (out of scope, unclear), the intent becomes ``ask_condition`` with
    ``assigned_confidence``. A question about every condition (``overview_intents``)
    that names exactly one condition of the page gets that condition's answer. ``prefer_entity_below`` is chosen by cross-validation on
    the training data (bench/accuracy.py), never on the test set.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "condition_intent": "ask_condition",
            # "ok can I book for Thursday then?": asked in so many words (_BOOKING_REQUEST),
            # a booking, not what is free
            "availability_intent": "faq_availability",
            "contact_intent": "faq_contact",  # "ok how do I get in?": to book, not a phone number
            # ... and one that asks about a day or a time of day, not what is free then
            # (_ASKS_WHEN_OPEN), is about the hours
            "hours_intent": "faq_hours",
            "prefer_entity_below": 0.6,
            "assigned_confidence": 0.9,
            "weak_intents": ["out_of_scope", "unclear", "nlu_fallback"],
            # answers about every condition at once: a message that names one listed
            # condition ("can dry needling help with sports injuries") gets its answer
            "overview_intents": ["faq_conditions_overview"],
            # answers about the time after a treatment: a statement that names a condition
            # and no treatment ("my back gets stiff after long hauls in the truck",
            # "headaches after night shifts") is about the condition
            "after_treatment_intents": ["faq_soreness_after", "faq_aftercare"],
            # asking how serious a symptom is, or whether it will pass (_HOW_SERIOUS)
            "how_serious_intent": "faq_medical_advice",
            # a message that asks to book in so many words (_BOOKING_REQUEST), with a
            # condition named or not
            "booking_intent": "request_booking",
            # what the patient asks for in so many words: never read as another answer
            "keep_intents": ["request_booking", "request_human", "stop"],
            # a body part alone is a complaint only with one of these words
            "complaint_words": [
                "pain", "painful", "sore", "soreness", "ache", "aches", "aching", "achy", "hurt",
                "hurts", "hurting", "tight", "tightness", "stiff", "stiffness", "knot", "knots",
                "knotted", "tense", "tension", "spasm", "spasms", "crick", "kink", "strain",
                "strained", "sprain", "sprained", "pulled", "tweaked", "injured", "injury",
                "killing", "throbbing", "burning", "tender", "locked", "clicks", "clicking",
            ],
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config
        self._complaint = set(config["complaint_words"])
        self._weak = set(config["weak_intents"])
        self._overview = set(config["overview_intents"])
        self._after_treatment = set(config["after_treatment_intents"])
        self._keep = set(config["keep_intents"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ConditionStatementResolver":
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def names_a_condition(self, message: Message) -> bool:
        entities = message.get(ENTITIES) or []
        if any(e.get("entity") in ("condition", "other_condition") for e in entities):
            return True
        if any(e.get("entity") == "body_part" for e in entities):
            words = set(_TEXT_WORD.findall((message.get(TEXT) or "").lower()))
            return bool(words & self._complaint)
        return False

    @staticmethod
    def one_listed_condition(message: Message) -> bool:
        """Exactly one condition of the clinic's page is named, and no other condition."""
        entities = message.get(ENTITIES) or []
        listed = {e.get("value") for e in entities if e.get("entity") == "condition"}
        return len(listed) == 1 and not any(e.get("entity") == "other_condition" for e in entities)

    @staticmethod
    def only_unlisted_conditions(message: Message) -> bool:
        """A condition that is not on the page is named, and none that is."""
        kinds = {e.get("entity") for e in message.get(ENTITIES) or []}
        return "other_condition" in kinds and "condition" not in kinds

    def process(self, messages: List[Message]) -> List[Message]:
        target = self.config["condition_intent"]
        for message in messages:
            intent = message.get(INTENT) or {}
            name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
            if name:
                message.set(READ_FIRST_AS, name)  # for RedFlagTriage, whatever is chosen below
            text = plain_apostrophes(message.get(TEXT) or "")
            # (not when the classifier says out of scope: "can I book a massage" may ask for
            # a service the page does not offer)
            if (name == target or name in (self.config["availability_intent"], self.config["contact_intent"])
                    and not _SECOND_QUESTION.search(text)) and self._asks_to_book(text):
                self._book(message, confidence)
                continue
            if name == self.config["availability_intent"] and _ASKS_WHEN_OPEN.search(text) \
                    and not _ASKS_WHAT_IS_FREE.search(text):
                _choose_intent(message, self.config["hours_intent"], confidence)
                continue
            if name == self.config["booking_intent"] and _HOW_SOON.search(text) and not self._asks_to_book(text):
                _choose_intent(message, self.config["availability_intent"], confidence)
                continue
            if not self.names_a_condition(message):
                continue
            if name not in self._keep and (
                    _HOW_SERIOUS.search(text) and not _TREATMENT_WORDS.search(text)
                    or self.only_unlisted_conditions(message) and _SAFE_GIVEN.search(text)):
                # "my back has ached for three weeks, is that something serious?" asks how
                # serious a symptom is, "are they safe if I'm pregnant?" whether it suits
                # them: the answer says the bot can't tell and who can
                _choose_intent(message, self.config["how_serious_intent"], self._sure(confidence))
                continue
            if name in self._overview and self.one_listed_condition(message) and not _BESIDES.search(text):
                _choose_intent(message, target, confidence)
                continue
            if name in self._after_treatment and not _TREATMENT_WORDS.search(text):
                _choose_intent(message, target, self._sure(confidence))
                continue
            if name != target and name not in self._weak and confidence >= self.config["prefer_entity_below"]:
                continue
            if name not in self._weak and self._asks_to_book(text):
                self._book(message, confidence)
                continue
            # (the classifier's own unsure "ask_condition" is made sure too)
            _choose_intent(message, target, self._sure(confidence))
        return messages

    def _sure(self, confidence: float) -> float:
        """The confidence of an answer this component chooses."""
        return max(confidence, float(self.config["assigned_confidence"]))

    @staticmethod
    def _asks_to_book(text: str) -> bool:
        return bool(_BOOKING_REQUEST.search(text)) and not _NOT_BOOKING.search(text)

    def _book(self, message: Message, confidence: float) -> None:
        """"Can I make an appointment for my wife? She keeps getting headaches": the patient
        asks to book; the condition is what the visit is for."""
        _choose_intent(message, self.config["booking_intent"],
                       self._sure(confidence))


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class OtherLanguageDetector(GraphComponent):
    """A message written in another language gets ``other_language`` and a ``language``
    entity (fr, es, ...), so the reply says, in that language where the domain has
    it, that the assistant answers in English, with the clinic's phone.

    Read on the patient's own words (before spelling correction): mostly letters of
    another script than Latin (Chinese, Punjabi, Arabic, ...); or French by its function
    words, even when it borrows English ones ("c'est tu safe le dry needling?",
    ``clinic_assistant.triage.french.looks_french``); or at least ``min_words`` words,
    fewer than half of them common English (symspellpy's frequency list), or exactly
    half with ``langdetect`` sure it is not English. The language is ``langdetect``'s
    best guess ("und" when it is unsure). Red flags in
    French are found by the triage (clinic_assistant/triage/french.py), which runs
    after this and overrides it.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "other_language", "min_words": 3, "sure": 0.9}

    def __init__(self, config: Dict[Text, Any]) -> None:
        from clinic_assistant.nlp.build import lexicon_words
        from clinic_assistant.triage.french import looks_french
        from clinic_assistant.triage.spelling import english_words

        self.config = config
        # The clinic's own words and texting shortcuts count as English too: "do yuo
        # do ims", "I have hypermobile Ehlers-Danlos" are English to this clinic.
        self._english = (set(english_words()) | set(lexicon_words()) | set(_SHORTCUTS)
                         | {"ims", "wcb", "ahs", "gp", "rmt", "mva"})
        self._looks_french = looks_french

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "OtherLanguageDetector":
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def english_share(self, words: List[Text]) -> float:
        return sum(word in self._english for word in words) / len(words) if words else 0.0

    def language(self, text: str, corrected: str = "") -> Optional[Text]:
        """The language code of a message not in English; None for English.
        ``corrected``: the same message after spelling correction, if any."""
        letters = [c for c in text if c.isalpha()]
        foreign = [c for c in letters if not unicodedata.name(c, "").startswith("LATIN")]
        if letters and len(foreign) * 2 > len(letters):  # Chinese, Punjabi, Arabic, ...
            return self._detect(text) or "und"
        if self._looks_french(text):  # "c'est tu safe le dry needling?": French with English words
            return "fr"
        words = re.findall(r"[^\W\d_]+", text.lower())
        if len(words) < self.config["min_words"]:
            return None
        english = self.english_share(words)
        if corrected:  # "wat r ur hours" is English once its shortcuts are spelled out
            english = max(english, self.english_share(re.findall(r"[^\W\d_]+", corrected.lower())))
        if english > 0.5:
            return None
        best = self._best(text)
        if best is None:
            return None
        if english == 0.5 and (best.lang == "en" or best.prob < self.config["sure"]):
            return None
        if best.lang == "en":
            return None
        return best.lang if best.prob >= self.config["sure"] else "und"

    @staticmethod
    def _best(text: str) -> Any:
        """langdetect's likeliest language (``.lang``, ``.prob``), or None."""
        from langdetect import DetectorFactory, LangDetectException, detect_langs

        DetectorFactory.seed = 0  # the same answer for the same text
        try:
            return detect_langs(text)[0]
        except LangDetectException:
            return None

    def _detect(self, text: str) -> Optional[Text]:
        best = self._best(text)
        return best.lang if best is not None and best.lang != "en" and best.prob >= self.config["sure"] else None

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            original = message.get(ORIGINAL_TEXT) or message.get(TEXT) or ""
            if not original or original.startswith("/"):
                continue
            code = self.language(original, message.get(TEXT) or "")
            if code is None:
                continue
            _choose_intent(message, self.config["intent"], 1.0)
            entity = {"entity": "language", "value": code, "start": 0, "end": len(original),
                      "confidence": None, "extractor": "OtherLanguageDetector"}
            message.set(ENTITIES, message.get(ENTITIES, []) + [entity], add_to_output=True)
        return messages
