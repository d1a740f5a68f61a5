"""Which answer a parsed message gets (shared by the action server and the evaluation)."""
from __future__ import annotations

import pytest

from clinic_assistant.clinic.answers import (
    CONDITION_RESPONSES,
    UNLISTED,
    answer_key,
    condition_from_entities,
)


def entity(kind: str, value: str) -> dict[str, str]:
    return {"entity": kind, "value": value}


def test_every_listed_condition_has_a_response_in_the_domain() -> None:
    from rasa.shared.core.domain import Domain

    domain = Domain.load("domain")
    for response in [*CONDITION_RESPONSES.values(), "utter_condition_unlisted"]:
        assert response in domain.responses, response


@pytest.mark.parametrize(
    "entities, expected",
    [
        ([entity("condition", "fibromyalgia")], "fibromyalgia"),
        # a listed condition wins over an unlisted one in the same message
        ([entity("other_condition", "arthritis"), entity("condition", "sciatica and nerve pain")],
         "sciatica and nerve pain"),
        # an unlisted condition is never turned into a yes by a body part
        ([entity("other_condition", "arthritis"), entity("body_part", "neck")], UNLISTED),
        ([entity("body_part", "shoulder")], "chronic muscle pain"),
        ([entity("body_part", "knee")], UNLISTED),
        ([], UNLISTED),
        ([entity("condition", "made up condition")], UNLISTED),
        # the named condition over the general one ("the muscle pain that comes with fibro")
        ([entity("condition", "chronic muscle pain"), entity("condition", "fibromyalgia")], "fibromyalgia"),
        ([entity("condition", "sciatica and nerve pain"), entity("condition", "chronic muscle pain")],
         "sciatica and nerve pain"),
    ],
)
def test_condition_from_entities(entities: list[dict[str, str]], expected: str) -> None:
    assert condition_from_entities(entities) == expected


def test_answer_key_for_each_kind_of_parse() -> None:
    assert answer_key({"intent": {"name": "faq_aftercare"}}) == "faq_aftercare"
    condition = {"intent": {"name": "ask_condition"},
                 "entities": [entity("condition", "TMJ dysfunction")]}
    assert answer_key(condition) == "condition/TMJ dysfunction"
    assert answer_key({"intent": {"name": "greet"}}) == "greet"
