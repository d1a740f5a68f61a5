"""Text normalisation and spelling correction for triage.

Patients type "cant brethe", "chest pian", "numbnes". Before the concept rules read a
message it is lower-cased, contractions and texting shortcuts are spelled out, and
every word that is not English (symspellpy's English frequency list) and not in the
triage lexicons is corrected to the nearest lexicon word, if there is one close enough:
one edit for words of 4 to 9 letters (for 4 letters only a swap of two letters, "pian"),
two from 10 letters, and never a change of the first letter. Words of 3 letters or fewer are never changed. The original text is
kept by the caller for the conversation log.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Iterable, Mapping, Optional

from symspellpy import SymSpell, Verbosity

# Spelled out before anything else reads the text ("cant" -> "can not").
_SHORTHAND = {
    r"can'?t|cannot|carn'?t": "can not",
    r"won'?t": "will not",
    r"don'?t|dont": "do not",
    r"doesn'?t|doesnt": "does not",
    r"didn'?t|didnt": "did not",
    r"isn'?t|isnt": "is not",
    r"aren'?t|arent": "are not",
    r"wasn'?t|wasnt": "was not",
    r"weren'?t": "were not",
    r"couldn'?t|couldnt": "could not",
    r"wouldn'?t|wouldnt": "would not",
    r"shouldn'?t|shouldnt": "should not",
    r"haven'?t|havent": "have not",
    r"hasn'?t|hasnt": "has not",
    r"hadn'?t": "had not",
    r"i'?m": "i am",
    r"i'?ve": "i have",
    r"i'll": "i will",
    r"i'd": "i would",
    r"(he|she|it|that|what|there)'s": r"\1 is",
    r"hes": "he is",
    r"shes": "she is",
    r"(you|we|they)'re": r"\1 are",
    r"(you|we|they)'ve": r"\1 have",
    r"u": "you",
    r"ur": "your",
    r"rn": "right now",
    r"atm": "at the moment",
    r"pls|plz": "please",
    r"bc|b/c|cuz|coz": "because",
    r"w/o": "without",
    r"idk": "i do not know",
    r"gonna": "going to",
    r"wanna": "want to",
    r"gotta": "got to",
    r"kinda": "kind of",
    r"thru": "through",
    r"hrs?": "hours",
    r"mins?": "minutes",
    r"yrs?": "years",
    r"ppl": "people",
    r"bf": "boyfriend",
    r"gf": "girlfriend",
}
_SHORTHAND_RE = [(re.compile(rf"(?<![\w']){pattern}(?![\w'])"), repl)
                 for pattern, repl in _SHORTHAND.items()]
_WORD = re.compile(r"[a-z]+")
_ENGLISH_MIN_COUNT = 10_000  # below this, the frequency list holds many misspellings


def plain_apostrophes(text: str) -> str:
    """A phone's curly apostrophe (and its look-alikes) as a straight one."""
    for apostrophe in ("\u2019", "\u2018", "`", "\u00b4", "\u02bc"):
        text = text.replace(apostrophe, "'")
    return text


def normalise(text: str) -> str:
    """Lower-case, plain apostrophes, shortcuts spelled out."""
    text = plain_apostrophes(text.lower())
    for pattern, repl in _SHORTHAND_RE:
        text = pattern.sub(repl, text)
    return text


def _plausible(word: str, term: str) -> bool:
    """Whether ``term`` may be what ``word`` misspells: a typo rarely changes the first
    letter ("shoveling" is not "shivering"), and in 4 letters only a swap ("pian" ->
    "pain") is close enough."""
    return term[0] == word[0] and (len(word) != 4 or sorted(term) == sorted(word))


RARE_COUNT = 2  # see Speller(rare_typos=True)
RARE_FACTOR = 20


class Speller:
    """Corrects misspellings of lexicon words; leaves every English word alone."""

    def __init__(self, lexicon_words: Iterable[str], counts: Optional[Mapping[str, int]] = None,
                 rare_typos: bool = False):
        """``counts``: how often each word occurs (the most frequent of equally close
        words wins: "needeling" -> "needling", not a rarer misspelling in the data).
        ``rare_typos``: a word of the vocabulary seen at most RARE_COUNT times, not
        English, one edit from a word seen at least RARE_FACTOR times as often, is a
        misspelling too: the training data has typos on purpose ("neeedling"), and a
        patient's same typo reads better as the word it misspells."""
        self._lexicon = {w for w in lexicon_words if w.isalpha()}
        self._counts = dict(counts or {})
        self._rare_typos = rare_typos
        self._symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        # in a fixed order: SymSpell returns equally close, equally frequent words in the
        # order they were added, and a set's order changes with each process's string
        # hashing ("replacd" was "replaced" in one run and "replace" in the next)
        for word in sorted(self._lexicon):
            self._symspell.create_dictionary_entry(word, self._counts.get(word, 1))
        self._english = english_words()
        self._cache: dict[str, list[str]] = {}

    def correct_word(self, word: str) -> str:
        return self.options(word)[0]

    def options(self, word: str) -> list[str]:
        """The word's equally good readings, the one ``correct_word`` takes first: "cheet"
        is "cheek" or "chest" (one edit each, equally frequent); most words have one."""
        if len(word) < 4 or word in self._english:
            return [word]
        if word in self._lexicon and (not self._rare_typos or self._counts.get(word, 0) > RARE_COUNT):
            return [word]
        if word not in self._cache:
            self._cache[word] = [self._rare_lookup(word)] if word in self._lexicon else self._lookup(word)
        return self._cache[word]

    def alternatives(self, text: str, limit: int = 8) -> list[str]:
        """``text`` (normalised) corrected as ``correct`` does, but with another of one
        word's equally good readings (``options``), one variant per such reading, at most
        ``limit``: the red-flag check reads them all ("getting cheet pain when I walk" is
        "cheek pain" and "chest pain")."""
        matches = list(_WORD.finditer(text))
        choices = [self.options(m.group(0)) for m in matches]
        variants: list[str] = []
        for i, options in enumerate(choices):
            for other in options[1:]:
                pieces, last = [], 0
                for j, match in enumerate(matches):
                    pieces += [text[last:match.start()], other if j == i else choices[j][0]]
                    last = match.end()
                variants.append("".join(pieces) + text[last:])
                if len(variants) >= limit:
                    return variants
        return variants

    def _rare_lookup(self, word: str) -> str:
        """A rare vocabulary word's much more frequent neighbour one edit away, or itself."""
        own = self._counts.get(word, 1)
        suggestions = self._symspell.lookup(word, Verbosity.ALL, max_edit_distance=1)
        terms = [s for s in suggestions if s.term != word and _plausible(word, s.term)
                 and s.count >= RARE_FACTOR * own and s.term.isalpha()]
        return max(terms, key=lambda s: s.count).term if terms else word

    def _lookup(self, word: str) -> list[str]:
        distance = 2 if len(word) >= 10 else 1
        suggestions = self._symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
        terms = [s for s in suggestions if _plausible(word, s.term)]
        if not terms:
            return [word]
        # the most frequent of the closest; equally frequent, first the word with a letter
        # left out ("replacd" is "replaced", not "replace"), then in alphabetical order
        best = max(s.count for s in terms)
        return [s.term for s in sorted((s for s in terms if s.count == best),
                                       key=lambda s: (not _left_out_one(word, s.term), s.term))]

    def correct(self, text: str) -> str:
        """``text`` (already normalised) with misspelled lexicon words corrected."""
        return _WORD.sub(lambda m: self.correct_word(m.group(0)), text)


def _left_out_one(typed: str, word: str) -> bool:
    """Whether ``typed`` is ``word`` with one letter left out."""
    return len(word) == len(typed) + 1 and any(word[:i] + word[i + 1:] == typed for i in range(len(word)))


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Common English words (symspellpy's frequency list, count >= 10,000); read once
    per process (the triage speller, ClinicSpeller and OtherLanguageDetector share it)."""
    words = set()
    source = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            word, _, count = line.partition(" ")
            if int(count) >= _ENGLISH_MIN_COUNT:
                words.add(word)
    return frozenset(words)
