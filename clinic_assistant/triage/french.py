"""French red flags of the 911 tier and crisis, for patients who write in French.

The triage rules (rules.yml) read English. Grande Prairie has a French-speaking
community, so the commonest French ways of saying the 911-tier emergencies and a
crisis are matched here, on the text lower-cased and without accents ("j'ai mal à la
poitrine" = "j'ai mal a la poitrine"). Patterns, not a translation: each one names
the category it stands for. Negation is not read here: a French message that names
one of these gets the emergency reply (erring towards safety), in English, which
the reply's 911 and phone numbers make usable anyway.
"""
from __future__ import annotations

import re
import unicodedata

from clinic_assistant.triage.rules import Finding

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


def french_findings(text: str) -> list[Finding]:
    """The French red flags a message names (each category once)."""
    found = []
    normalised = plain(text)
    for category, (tier, patterns) in _COMPILED.items():
        for pattern in patterns:
            match = pattern.search(normalised)
            if match:
                found.append(Finding(category, tier, (match.group(0),), source="french"))
                break
    return found
