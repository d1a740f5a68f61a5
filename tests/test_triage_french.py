"""Red flags written in French (issue #16, must-have 7): the message is glossed into the
triage lexicon's English words (clinic_assistant/triage/french.yml) and read by the same
rules, so negation and history apply as in English."""
from __future__ import annotations

import pytest

from clinic_assistant.triage import Triage
from clinic_assistant.triage.corpus import FRENCH_ROUNDS, load_french_round
from clinic_assistant.triage.french import gloss, looks_french


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage.load()


@pytest.mark.parametrize("text, tier", [
    ("ma mère vient de perdre connaissance dans la cuisine", "911"),
    ("mon chum a la bouche croche d'un bord pis il parle tout mêlé", "911"),
    ("j'ai mal dans le bas du dos pis chu pu capable de faire pipi depuis hier", "911"),
    ("ça serre dans ma poitrine pis j'ai des sueurs froides", "911"),
    ("mon fils s'est coupé, ça saigne pis ça arrête pas", "911"),
    ("j'ai pu envie de vivre, tout le monde serait mieux sans moi", "crisis"),
    # wordings the first French patterns caught and the glossary must not lose
    ("je me sens suicidaire depuis hier", "crisis"),
    ("je vais me tuer", "crisis"),
    ("il ne respire pas", "911"),
    ("il est inconscient", "911"),
    ("j'ai un serrement dans la poitrine", "911"),
    # a denial before "mais" ends at it
    ("pas de fièvre mais une douleur écrasante à la poitrine", "911"),
])
def test_a_french_emergency_is_caught(triage: Triage, text: str, tier: str) -> None:
    assert triage.assess(text).tier == tier


@pytest.mark.parametrize("text", [
    "mon père a fait un AVC il y a 3 ans, traitez-vous les séquelles?",
    "pas de douleur à la poitrine, juste le cou raide depuis que j'ai dormi croche",
    "est-ce que le dry needling peut causer un pneumothorax? juste curieuse",
    "j'ai mal au dos depuis des mois, est-ce que les aiguilles pourraient m'aider?",
    "combien coûte une séance?",
    "je vais prendre rendez-vous pour mon dos",
    "est-ce que ça va me faire du mal, les aiguilles?",
    "le nez qui coule pis ça arrête pas",
    "je me suis tordu la cheville au hockey",
    "ce mal de dos va me tuer",  # a figure of speech, as "this pain is killing me"
])
def test_an_ordinary_french_message_is_not_an_emergency(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier is None


def test_only_french_is_glossed() -> None:
    assert looks_french("est-ce que c'est couvert par mon assurance")
    assert not looks_french("my son and his ma are coming in on monday")
    assert not looks_french("can dry needling help my sciatica")
    assert not looks_french("c'mon y'all my son's knee cut won't quit bleeding")
    assert not looks_french("est. 2 days of back pain, can you help")
    assert gloss("ma mère vient de perdre connaissance") == "my mom just lost consciousness"


def test_english_that_borrows_french_looking_words_is_still_read_as_english(triage: Triage) -> None:
    assert triage.assess("c'mon my nose has been gushing for 45 minutes and wont quit").tier == "911"


@pytest.mark.parametrize("name", FRENCH_ROUNDS)
def test_the_written_french_rounds_are_all_caught_and_nothing_else(triage: Triage, name: str) -> None:
    """The rounds written blind (each header says what was measured before it was read):
    every emergency is sent to emergency care, no ordinary message is."""
    emergencies, ordinary = load_french_round(name)
    missed = [t for t in emergencies if triage.assess(t).tier is None]
    alarms = [t for t in ordinary if triage.assess(t).tier is not None]
    assert (missed, alarms) == ([], [])
