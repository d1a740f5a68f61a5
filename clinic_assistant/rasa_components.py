"""Custom Rasa NLU components of the clinic assistant (named in ``config.yml``)."""
# No `from __future__ import annotations` here: Rasa matches component inputs by
# their (evaluated) type hints.

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message


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
