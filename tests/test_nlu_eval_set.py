"""The NLU evaluation sets (tests/nlu_eval/) are frozen, and the training data holds
nothing within two words of any of their messages: the figures measure
generalisation, not recall of near-copies."""
from __future__ import annotations

import hashlib
from pathlib import Path

from clinic_assistant.rasa.evaluation import load_set, near_copies, training_texts, word_distance, words_of

EVAL = Path(__file__).resolve().parent / "nlu_eval"
PROJECT = EVAL.parent.parent


def test_the_sets_are_frozen() -> None:
    for line in (EVAL / "FROZEN.sha256").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((EVAL / name).read_bytes()).hexdigest() == digest, (
            f"{name} changed: the evaluation sets are frozen (write a new set instead)")


def test_the_test_set_is_big_enough_and_covers_every_kind() -> None:
    test = load_set(EVAL / "test.yml")
    assert len(test.messages) >= 300 and len(test.conversations) >= 25
    kinds = {m.kind for m in test.messages}
    assert {"question", "statement", "typo", "short", "out_of_scope", "other_language"} <= kinds


def test_no_training_example_is_within_two_words_of_an_evaluation_message() -> None:
    evaluation = load_set(EVAL / "test.yml").texts() + load_set(EVAL / "dev.yml").texts()
    training = [text for texts in training_texts(PROJECT / "data" / "nlu").values() for text in texts]
    close = near_copies(training, evaluation, limit=2)
    assert not close, f"{len(close)} training examples are near-copies, e.g. {close[:3]}"


def test_the_word_distance_counts_words() -> None:
    assert word_distance(words_of("how much does it cost"), words_of("how much does it cost?"), 2) == 0
    assert word_distance(words_of("how much does it cost"), words_of("how much would it cost me"), 2) == 2
    assert word_distance(words_of("what are your hours"), words_of("where can I park my car"), 2) == 3
