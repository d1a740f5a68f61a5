"""Custom Rasa NLU components of the clinic assistant (named in ``config.yml``)."""
# No `from __future__ import annotations` here: Rasa matches component inputs by
# their (evaluated) type hints.

import fnmatch
import re
from typing import Any, Dict, List, Text

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
    reply and nothing else, on every channel, whatever was going on.
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
            intent = {"name": assessment.intent, "confidence": 1.0}
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
