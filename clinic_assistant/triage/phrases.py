"""The small phrase language of the triage lexicons, compiled to spaCy token patterns.

A lexicon entry is plain words, matched on their lemmas ("fainted" matches "faint"),
with two shorthands:

- ``{a|b c|}``: one of the alternatives, each of any length; an empty alternative
  makes the group optional. ``{can't|cannot|can not} {breathe|get air}`` stands for
  six phrases. Groups nest.
- ``=word``: that word exactly, not any form of it (``=needled`` is not "needles").
- ``...``: up to four words of any kind in between, but no sentence punctuation or
  clause break (``chest ... tight`` matches "chest is so tight").

Compiled compactly: a group becomes token slots, each matching any of the lemmas the
alternatives have at that position (optional where an alternative is shorter or
empty); only groups with a gap inside are multiplied out. That keeps the matcher to a
few hundred patterns, well under a millisecond a message.

    expand("{can't|cannot} breathe")  -> ["can't breathe", "cannot breathe"]
"""
from __future__ import annotations

import re
from typing import Any, Callable

GAP = "..."
GAP_TOKENS = 4
EXACT = "="  # "=needles": this exact word, not its lemma ("needles" but not "needled")
_GROUP = re.compile(r"\{([^{}]*)\}")
_DONE = re.compile(r"\u27e8([^\u27e8\u27e9]*)\u27e9")  # a group already compiled
_SLOT = re.compile(r"^\u00a7(\d+)$")  # placeholder for a group of one-word alternatives
# Tokens a gap may not cross: the end of a sentence or a clause.
# Nor a negation: "face ... drooping" must not match "face is not drooping".
_GAP_BLOCKERS = [".", "!", "?", ";", ",", "but", "however", "though", "although",
                 "not", "no", "never", "n't", "without", "nothing", "nor", "neither"]

Lemmatise = Callable[[str], list[str]]


def expand(phrase: str) -> list[str]:
    """Every plain phrase that ``phrase`` stands for (groups multiplied out, nested
    groups from the inside out)."""
    match = _GROUP.search(phrase) or _DONE.search(phrase)
    if match is None:
        return [" ".join(phrase.split())] if phrase.strip() else []
    out: list[str] = []
    for alternative in match.group(1).split("|"):
        for text in expand(phrase[:match.start()] + alternative + phrase[match.end():]):
            if text not in out:
                out.append(text)
    return out


def compile_phrase(phrase: str, lemmas: Lemmatise,
                   attr: str = "LEMMA") -> list[list[dict[str, Any]]]:
    """Token patterns for ``phrase``; ``lemmas`` turns text into the lemmas of its
    tokens, the same way the matcher's docs are lemmatised (or into plain lower-case
    words, with ``attr="LOWER"``)."""
    slots: list[tuple[list[str], bool]] = []  # (lemmas, optional)

    def words_of(alternative: str) -> list[str]:
        out: list[str] = []
        for word in alternative.split():
            out += [word] if _SLOT.match(word) or word.startswith(EXACT) else lemmas(word)
        return out

    def to_slots(match: re.Match[str]) -> str:
        body = match.group(1)
        if GAP in body or "\u27e8" in body:
            return "\u27e8" + body + "\u27e9"  # multiplied out below
        alternatives = body.split("|")
        empty = any(not a.strip() for a in alternatives)
        by_width: dict[int, list[list[str]]] = {}
        for alternative in alternatives:
            if alternative.strip():
                words = words_of(alternative)
                by_width.setdefault(len(words), []).append(words)
        # Alternatives of one length become token slots, each matching any of the
        # lemmas they have at that position ("{can not|could not}" -> {can, could}
        # {not}); this admits a few mixtures, harmless here. Lengths stay apart.
        classes = []
        inline_optional = False
        for width, group in sorted(by_width.items()):
            if any(_SLOT.match(w) or w.startswith(EXACT) for words in group for w in words):
                classes += [" ".join(words) for words in group]
                continue
            placeholders = []
            for i in range(width):
                inline_optional = empty and width == 1 and len(by_width) == 1
                slots.append((sorted({words[i] for words in group}), inline_optional))
                placeholders.append(f"\u00a7{len(slots) - 1}")
            classes.append(" ".join(placeholders))
        if len(classes) == 1 and (not empty or inline_optional):
            return f" {classes[0]} "
        return "\u27e8" + "|".join(classes + ([""] if empty else [])) + "\u27e9"

    # replace innermost one-word groups by slots until none is left
    previous = None
    while previous != phrase:
        previous = phrase
        phrase = _GROUP.sub(to_slots, phrase)
    patterns = []
    for text in expand(phrase):
        pattern: list[dict[str, Any]] = []
        for chunk_index, chunk in enumerate(text.split(GAP)):
            if chunk_index:
                pattern += [{"LOWER": {"NOT_IN": _GAP_BLOCKERS}, "IS_PUNCT": False, "OP": "?"}
                            for _ in range(GAP_TOKENS)]
            for word in chunk.split():
                slot = _SLOT.match(word)
                if slot:
                    options, optional = slots[int(slot.group(1))]
                    token: dict[str, Any] = {attr: {"IN": options}}
                    if optional:
                        token["OP"] = "?"
                    pattern.append(token)
                elif word.startswith(EXACT):
                    pattern.append({"LOWER": word[len(EXACT):]})
                else:
                    pattern += [{attr: lemma} for lemma in lemmas(word) if lemma]
        required = [t for t in pattern if "OP" not in t]
        if not required:
            continue
        if "IS_PUNCT" in pattern[0] or "IS_PUNCT" in pattern[-1]:
            raise ValueError(f"a phrase may not start or end with '{GAP}': {text!r}")
        if pattern not in patterns:
            patterns.append(pattern)
    return patterns
