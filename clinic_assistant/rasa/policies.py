"""Custom dialogue policy of the clinic assistant (named in ``config.yml``)."""
# No `from __future__ import annotations`: Rasa inspects these signatures.
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.triage import RED_FLAG_INTENTS


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class HandoffPolicy(Policy):
    """While a conversation is handed off to staff, the bot stays quiet.

    When the ``handoff_active`` slot is true, every patient message gets only the
    short ``utter_handoff_pending`` acknowledgement (nothing at all once a staff member
    has replied: slot ``handoff_with_staff``), except messages whose intent is
    in ``let_through`` (red flags), which the other policies answer as usual. Its
    priority is above RulePolicy's so that no FAQ answer or form gets in the way.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "priority": 7,
            "slot": "handoff_active",
            # once a staff member has replied, staff and patient talk; the bot is silent
            "live_slot": "handoff_with_staff",
            "acknowledgement": "utter_handoff_pending",
            "let_through": list(RED_FLAG_INTENTS),
        }

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
    ) -> None:
        config = {**self.get_default_config(), **config}
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(
        self,
        training_trackers: List[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if not tracker.get_slot(self.config["slot"]):
            return self._prediction(probabilities)
        acknowledgement = self.config["acknowledgement"]
        if tracker.latest_action_name == ACTION_LISTEN_NAME:
            intent = tracker.latest_message.intent.get("name") if tracker.latest_message else None
            if intent in self.config["let_through"]:
                return self._prediction(probabilities)
            if tracker.get_slot(self.config["live_slot"]):
                probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
                return self._prediction(probabilities)
            probabilities[domain.index_for_action(acknowledgement)] = 1.0
        elif tracker.latest_action_name == acknowledgement:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)
