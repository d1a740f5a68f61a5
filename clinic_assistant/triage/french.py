"""Red flags written in French, for patients who write in French.

The triage rules (rules.yml) read English. Grande Prairie has a French-speaking
community, so a message that looks French (``looks_french``: French function words) is
glossed phrase by phrase into the English words of the triage lexicon (``gloss``, from
french.yml: "ma mère vient de perdre connaissance" -> "my mom just lost
consciousness") and read by the same rules, with the same negation and history
("pas de douleur à la poitrine", "un AVC il y a 3 ans"). The classifier, trained on
English, is not asked. The patterns below are the fallback for a French message too short
to be recognised as French ("crise cardiaque!"). The reply is the English emergency
reply, whose 911 and phone numbers make it usable anyway (and it ends in French).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import yaml

from clinic_assistant.triage.rules import Finding

if TYPE_CHECKING:
    from clinic_assistant.triage.rules import RuleLayer

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
        r"\bmettre fin a (mes|ma) (jours|vie)\b", r"\bme tuer\b", r"\ben finir\b",
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


def looks_french(text: str) -> bool:
    """At least two different French function words, a sixth of the words or more."""
    words = re.findall(r"[a-z]+", plain(text))
    function_words = _glossary()[1]
    hits = [w for w in words if w in function_words]
    return len(set(hits)) >= 2 and len(hits) * 6 >= len(words)


def gloss(text: str) -> str:
    """The message in the English words the triage lexicon knows (french.yml), phrase by
    phrase; words the glossary does not know are left as they are."""
    out = plain(text)
    for pattern, english in _glossary()[0]:
        out = pattern.sub(rf" {english} ", out)
    return " ".join(out.split())


def french_findings(text: str, rules: Optional["RuleLayer"] = None) -> list[Finding]:
    """The French red flags a message names (each category once): the patterns above,
    and, with ``rules``, the English rules read on the message's gloss (negation,
    history and the combinations of rules.yml apply to it as to English)."""
    found = []
    normalised = plain(text)
    for category, (tier, patterns) in _COMPILED.items():
        for pattern in patterns:
            match = pattern.search(normalised)
            if match:
                found.append(Finding(category, tier, (match.group(0),), source="french"))
                break
    if rules is not None and looks_french(text):
        seen = {f.category for f in found}
        for finding in rules.analyse(gloss(text)).findings:
            if finding.category not in seen:
                seen.add(finding.category)
                found.append(Finding(finding.category, finding.tier, finding.evidence, source="french"))
    return found
