"""Red flags written in French, for patients who write in French.

The triage rules (rules.yml) read English. Grande Prairie has a French-speaking
community, so a message that looks French (``looks_french``: French function words) is
glossed phrase by phrase into the English words of the triage lexicon (``gloss``, from
french.yml: "ma mère vient de perdre connaissance" -> "my mom just lost
consciousness") and read by the same rules, with the same negation and history
("pas de douleur à la poitrine", "un AVC il y a 3 ans"). The classifier, trained on
English, is not asked. The patterns below (the first French support) still apply where
the rules found nothing: to a short message not recognised as French ("crise
cardiaque!"), and to a French one, unless the rules read that category's words in the
gloss and discounted them (negated, past, a risk question). The reply is the English
emergency reply, whose 911 and phone numbers make it usable anyway.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml

from clinic_assistant.triage.rules import Finding
from clinic_assistant.triage.spelling import english_words

GLOSSARY = Path(__file__).resolve().parent / "french.yml"

_ANY = r"(?:\w+\s+){0,3}"  # up to three words between
PATTERNS: dict[str, tuple[str, list[str]]] = {
    "cardiac": ("911", [
        rf"\b(douleur|mal|serrement|oppression|pression)\s+{_ANY}(poitrine|thorax|coeur)",
        r"\bcrise cardiaque\b", r"\binfarctus\b",
    ]),
    "breathing": ("911", [
        rf"\b(n'?arrive|arrive|peux|peut|parviens)\s+(pas|plus)\s+{_ANY}respirer",
        r"\bne respire (pas|plus)\b", r"\b(du mal|de la peine|difficulte)s?\s+a respirer",
        r"\bje (m'?)?etouffe\b", r"\bsuffoqu",
    ]),
    "stroke": ("911", [
        r"\bavc\b", r"\baccident vasculaire", r"\bvisage\s+(\w+\s+)?(tombe|affaisse|paralyse|de travers)",
        rf"\b(faiblesse|engourdissement|paralysie)\s+{_ANY}(soudaine?|d'?un cote|du cote|bras|jambe)",
        rf"\b(soudain|soudainement|tout a coup)\s+{_ANY}(parler|paralyse|faible|engourdi)",
        r"\b(je|il|elle) (ne )?(peux|peut|arrive) (plus|pas) (a )?parler\b",
    ]),
    "collapse": ("911", [
        r"\b(perdu|perd|perte de) connaissance\b", r"\bs'?est evanoui", r"\bevanoui",
        r"\binconscient", r"\bne se reveille (pas|plus)\b", r"\bconvulsion",
    ]),
    "bleeding": ("911", [
        rf"\bsaign\w*\s+{_ANY}(beaucoup|abondamment|ne s'?arrete pas|sans arret|enormement)",
        r"\bsaignement\s+(abondant|important|qui ne s'?arrete)", r"\bhemorragie\b",
    ]),
    "anaphylaxis": ("911", [
        rf"\b(gorge|langue|levres|visage)\s+{_ANY}(gonfle|enfle|se ferme)", r"\bchoc anaphylactique\b",
    ]),
    "crisis": ("crisis", [
        r"\b(me|se) suicider\b", r"\bsuicid", r"\b(je veux|j'?ai envie de|envie de) mourir\b",
        r"\bmettre fin a (mes|ma) (jours|vie)\b", r"(?<!va )(?<!vont )(?<!ca )\bme tuer\b", r"\ben finir\b",
    ]),
}
_COMPILED = {category: (tier, [re.compile(p) for p in patterns])
             for category, (tier, patterns) in PATTERNS.items()}


def plain(text: str) -> str:
    """Lower case, no accents, plain apostrophes."""
    text = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _glossary() -> tuple[list[tuple["re.Pattern[str]", str]], frozenset[str]]:
    spec = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))
    phrases = []
    for french, english in spec["phrases"]:
        end = "" if french.endswith("'") else r"(?![\w'])"
        phrases.append((re.compile(rf"(?<!\w)(?:{french}){end}"), english))
    return phrases, frozenset(spec["function_words"])


_ENGLISH_ELISIONS = {"c'mon": "come on", "y'all": "you all", "ma'am": "madam"}


@lru_cache(maxsize=256)  # asked twice per message: the language check, then the triage
def looks_french(text: str) -> bool:
    """At least two different French function words (a single letter only elided:
    "j'ai", "c'est"), a sixth of the words or more, and fewer than 80% of the words
    common English (French messages have at most 73%): an English message is not
    glossed, whatever it borrows ("c'mon", "y'all", "est.")."""
    plain_text = plain(text)
    for elided, spelled in _ENGLISH_ELISIONS.items():
        plain_text = plain_text.replace(elided, spelled)
    tokens = re.findall(r"[a-z]+'?", plain_text)
    words = [t.rstrip("'") for t in tokens]
    function_words = _glossary()[1]
    hits = [w for t, w in zip(tokens, words, strict=True)
            if w in function_words and (len(w) > 1 or t.endswith("'"))]
    if len(set(hits)) < 2 or len(hits) * 6 < len(words):
        return False
    common = english_words()
    return sum(w in common for w in words) < 0.8 * len(words)


def gloss(text: str) -> str:
    """The message in the English words the triage lexicon knows (french.yml), phrase by
    phrase; words the glossary does not know are left as they are."""
    out = plain(text)
    for pattern, english in _glossary()[0]:
        out = pattern.sub(rf" {english} ", out)
    return " ".join(out.split())


def french_findings(text: str) -> list[Finding]:
    """The French red flags the patterns above name (each category once)."""
    found = []
    normalised = plain(text)
    for category, (tier, patterns) in _COMPILED.items():
        for pattern in patterns:
            match = pattern.search(normalised)
            if match:
                found.append(Finding(category, tier, (match.group(0),), source="french"))
                break
    return found
