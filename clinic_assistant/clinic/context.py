"""Follow-ups: a short message that only makes sense after the previous one.

"and weekends?", "what about saturdays?": alone, the classifier declines them. When
the latest message of the same session is known, such a message is read again
together with it ("what are your hours" + "and weekends?"); if that reading is
confident about an answer, it is used. "Would it help that too?" names no condition:
it takes the previous message's. "What should I do for it?" after a question about
soreness after needling asks about aftercare (``_CONTINUATIONS``: words that refer back
to the previous message's topic). The message keeps its own words and entities (a condition it
names wins over the previous one's). Used by the Rasa server on every channel
(clinic_assistant/rasa/patches.py) and by the evaluation (clinic_assistant/rasa/evaluation.py),
so what is measured is what patients get.
"""
from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Iterable, Optional

from clinic_assistant.clinic.answers import CONDITION_INTENT

MAX_WORDS = 8  # a follow-up is short; a long message stands on its own
# ... unless it says that it refers back: "my dad has the same thing, would it work for
# him too", "my daughter gets them too, she's 16, would it help her as well?"
MAX_WORDS_REFERRING_BACK = 16
MAX_WORDS_CONTINUED = 12  # a follow-up of _CONTINUATIONS (below)
CONTINUED_BELOW = 0.8  # ... that the classifier alone is less sure of than this, except
_DECISIVE = frozenset({"faq_ims"})  # "how is that different from dry needling?" after IMS
# (said of a person or of the condition: "also" and "too" alone start new topics as often:
# "do you also sell gift certificates?", "can I bring my dog with me too?")
# ... or with a possessive whose noun is left out, the previous message's: "and my
# sister's? she clenches hers at night", "what about my husband's, he drives truck too"
_REFERS_BACK = re.compile(r"\bthe (exact |very )?same\b(?=\W*$|\W*[,.!?]|\s+(as|for|with|here|too|again|thing|problem|issue|pain|condition)\b)"
                          r"|\b(same thing|same problem|same issue)\b"
                          r"|\b(him|her|them|us)\s+(too|as well|also)\b"
                          r"|\b(gets?|has|have|had)\s+(it|that|them|those|this)\s+(too|as well)\b"
                          r"|\b(my|his|her|our|their)\s+\w+['’]s\b(?!\s*\w)|\b(hers|theirs)\b", re.I)
_POINTS_BACK = re.compile(r"\b(it|that|this|those|them|mine|hers|theirs)\b", re.I)
_NAMES_A_DISEASE = re.compile(r"\b(disease|syndrome|disorder|\w+(itis|osis|algia|pathy))\b", re.I)
UNSURE_ANSWER = 0.5  # below this, a short answered message may take its answer from context
UNSURE_INTENTS = frozenset({"nlu_fallback", "out_of_scope", "unclear"})
CONFIDENT = 0.6
OUT_OF_SCOPE_STANDS = 0.8  # an out-of-scope reading this sure is not re-read with context
CONDITION_ENTITIES = ("condition", "other_condition", "body_part")

Reparse = Callable[[str], Awaitable[dict[str, Any]]]


def _intent(parse: dict[str, Any]) -> tuple[str, float]:
    intent = parse.get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def _names_condition(parse: dict[str, Any]) -> bool:
    return any(e.get("entity") in CONDITION_ENTITIES for e in parse.get("entities") or [])


def _carried(combined: dict[str, Any]) -> list[dict[str, Any]]:
    """The previous message's condition entities, as read together with this one."""
    return [{**e, "start": 0, "end": 0, "extractor": "context"}
            for e in combined.get("entities") or [] if e.get("entity") in CONDITION_ENTITIES]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _short_or_referring_back(text: str, limit: int = MAX_WORDS) -> bool:
    """Up to ``limit`` words, or up to MAX_WORDS_REFERRING_BACK with words that refer back."""
    words = _words(text)
    if not words or text.startswith("/"):
        return False
    return len(words) <= limit or (len(words) <= MAX_WORDS_REFERRING_BACK and bool(_REFERS_BACK.search(text)))


def needs_context(parse: dict[str, Any]) -> bool:
    """A short message that alone is declined ("and weekends?"), or that asks about a
    condition without naming one ("would it help that?"); longer when it says it refers
    back ("my dad has the same thing, would it work for him too")."""
    name, confidence = _intent(parse)
    text = parse.get("text") or ""
    if name == CONDITION_INTENT and not _names_condition(parse):
        # about a condition without naming one: alone it could only get "not on our list";
        # longer than MAX_WORDS, only with a word that points back ("my mom has it, she's
        # had it for about ten years"); never when it names a disease the lexicon does not
        # know ("what about Sever's disease?", "costochondritis")
        if _NAMES_A_DISEASE.search(text):
            return False
        return _short_or_referring_back(text) or (
            _short_or_referring_back(text, MAX_WORDS_REFERRING_BACK) and bool(_POINTS_BACK.search(text)))
    if name == "out_of_scope" and confidence >= OUT_OF_SCOPE_STANDS:
        return False  # "do you also sell running shoes?" after a sports injury
    return name in UNSURE_INTENTS and _short_or_referring_back(text)


def previous_user_text(events: Iterable[Any]) -> Optional[str]:
    """The patient's latest message of the current session (events oldest first, the
    message being read not among them); None after a session start or a button."""
    from rasa.shared.core.events import SessionStarted, UserUttered

    for event in reversed(list(events)):
        if isinstance(event, SessionStarted):
            return None
        if isinstance(event, UserUttered):
            text = event.text or ""
            return None if not text or text.startswith("/") else text
    return None


def unsure_answer(parse: dict[str, Any]) -> bool:
    """A short message the classifier answers, but less than UNSURE_ANSWER sure."""
    name, confidence = _intent(parse)
    words = _words(parse.get("text") or "")
    return (bool(words) and len(words) <= MAX_WORDS and confidence < UNSURE_ANSWER
            and _answers(name) and not (parse.get("text") or "").startswith("/"))


def _answers(name: str) -> bool:
    return name.startswith("faq_") or name == CONDITION_INTENT


# Follow-ups whose answer is the previous message's topic, said in words another answer
# owns when they stand alone: (the previous message's answers, this message's own
# answers, the words that refer back) -> the answer. "Is that the same as dry
# needling?" after a question about IMS asks about IMS; "what should I do for it?" after
# one about soreness asks what to do after needling (aftercare), not for medical advice;
# "for how long usually?" after it asks how long the soreness lasts.
_CONTINUATIONS: tuple[tuple[frozenset[str], frozenset[str], re.Pattern[str], str], ...] = (
    (frozenset({"faq_ims"}), frozenset({"faq_what_is_dry_needling", "faq_how_it_works"}),
     re.compile(r"\b(same|similar to|alike|different|differ|difference|compare[sd]?|vs|versus)\b", re.I), "faq_ims"),
    (frozenset({"faq_soreness_after", "faq_session_what_happens", "faq_aftercare"}),
     frozenset({"faq_medical_advice", "faq_number_of_sessions", "faq_session_what_happens"}),
     re.compile(r"\b(do|doing)\b.*\b(for|about|with) (it|that|this|them)\b"
                r"|\banything (i|we) (should|need|have)\b"
                r"|\bonce (i|it|it's|its|it is|we|the session)\b.*\b(leave|left|done|home|over|finished)\b", re.I),
     "faq_aftercare"),
    (frozenset({"faq_soreness_after"}), frozenset({"faq_number_of_sessions", "faq_treatment_plan"}),
     re.compile(r"\bhow long\b", re.I), "faq_soreness_after"),
    # "how?" / "how does it do that?" after what it helps: how it works
    (frozenset({CONDITION_INTENT, "faq_pain_relief", "faq_mobility", "faq_inflammation",
                "faq_healing_recovery", "faq_conditions_overview", "faq_treatment_plan"}),
     UNSURE_INTENTS | {"faq_what_is_dry_needling", "faq_medical_advice"},
     re.compile(r"^\W*(?:(?:but|and|ok|okay|so|really)\W+)?how(?:\s+(?:so|exactly|come|tho|though)"
                r"|\s+(?:does|would|will|do)\s+(?:it|that|this|they|the needles?|needling)"
                r"(?:\s+(?:work|help|do that|do it|do))?)?\W*$", re.I),
     "faq_how_it_works"),
)
_CONTINUED_OWN = frozenset().union(*(own for _, own, _, _ in _CONTINUATIONS))
# Words of a question of its own, not a continuation: "anything I should bring to my first
# session?", "how long is a treatment plan?", "how many sessions would I need to do for it
# to work?"
_NOT_CONTINUED = re.compile(r"\b(bring|wear|before|plan|how many|cost|price|book)\b", re.I)


async def _continued(parse: dict[str, Any], previous: str, reparse: Reparse) -> Optional[dict[str, Any]]:
    """``parse`` answered as a follow-up of _CONTINUATIONS, or None."""
    own, confidence = _intent(parse)
    text = parse.get("text") or ""
    words = _words(text)
    # the rows' words refer back themselves: "and once it's done, anything I need to do?"
    if own not in _CONTINUED_OWN or not words or len(words) > MAX_WORDS_CONTINUED \
            or _NOT_CONTINUED.search(text):
        return None
    rows = [row for row in _CONTINUATIONS if own in row[1] and row[2].search(text)
            and (confidence < CONTINUED_BELOW or row[3] in _DECISIVE)]
    if not rows:
        return None
    before, _ = _intent(await reparse(previous))
    for previous_answers, _, _, answer in rows:
        if before in previous_answers and answer != own:
            chosen = {"name": answer, "confidence": 1.0}
            return {**parse, "intent": chosen, "intent_ranking": [chosen],
                    "context": {"previous": previous, "continues": before}}
    return None


async def with_context(parse: dict[str, Any], previous: Optional[str], reparse: Reparse) -> dict[str, Any]:
    """``parse`` re-read with the previous message when it is a follow-up that the
    two together answer with confidence; otherwise ``parse`` unchanged.

    A message that alone would be declined takes its answer from the two read together.
    A short message the classifier answers but is unsure of (``unsure_answer``) takes it
    only when the two together give a third answer, neither its own nor the previous
    message's: read together, the previous message's topic tends to dominate, and on
    the dev sets that turned "how soon could I get in?" (after a question about a knee
    sprain) into the knee answer. With that condition, "why does that matter?" after a
    question about blood flow, and "like what kind of stretches?" after one about
    aftercare, were the two follow-ups of the dev sets that changed, both to the right
    answer (threshold 0.5; 0.65 changed the same two)."""
    if not previous:
        return parse
    continued = await _continued(parse, previous, reparse)
    if continued is not None:
        return continued
    if not needs_context(parse):
        return await _unsure_with_context(parse, previous, reparse) if unsure_answer(parse) else parse
    combined = await _read_together(parse, previous, reparse)
    name, confidence = _intent(combined)
    own, _ = _intent(parse)
    if own == CONDITION_INTENT:
        # "and how many sessions for that?": the condition is the previous message's
        carried = _carried(combined)
        if carried:
            return {**parse, "entities": list(parse.get("entities") or []) + carried,
                    "context": {"previous": previous}}
        if name.startswith("faq_") and confidence >= CONFIDENT:
            # no condition to carry, and read together it is another answer: "mine's
            # through work, with sun life" after a question about insurance
            return _answered_as(parse, combined, previous)
        return parse
    if confidence < CONFIDENT or not _answers(name):
        return parse
    return _answered_as(parse, combined, previous)


async def _read_together(parse: dict[str, Any], previous: str, reparse: Reparse) -> dict[str, Any]:
    """The previous message and this one, read as one."""
    return await reparse(f"{previous.rstrip(' ?.!')}, {parse.get('text') or ''}")


def _answered_as(parse: dict[str, Any], combined: dict[str, Any], previous: str) -> dict[str, Any]:
    """``parse`` with the answer of the two messages read together, and the previous
    message's condition when the answer is a condition this message does not name."""
    resolved = {**parse, "intent": dict(combined["intent"]),
                "intent_ranking": combined.get("intent_ranking") or [combined["intent"]],
                "context": {"previous": previous}}
    if _intent(combined)[0] == CONDITION_INTENT and not _names_condition(parse):
        resolved["entities"] = list(parse.get("entities") or []) + _carried(combined)
    return resolved


async def _unsure_with_context(parse: dict[str, Any], previous: str, reparse: Reparse) -> dict[str, Any]:
    own, _ = _intent(parse)
    combined = await _read_together(parse, previous, reparse)
    name, confidence = _intent(combined)
    if confidence < CONFIDENT or not _answers(name) or name == own:
        return parse
    if _intent(await reparse(previous))[0] == name and not _nearly_tied(parse, name) \
            and not _REFERS_BACK.search(parse.get("text") or ""):
        return parse  # the previous message's own answer again, unless it says it refers back
    return _answered_as(parse, combined, previous)


TIE = 0.05  # "same on saturday?": hours 0.31, availability 0.31, out of scope 0.30


def _nearly_tied(parse: dict[str, Any], name: str) -> bool:
    """Whether ``name`` is among the message's own answers within TIE of its first: then
    the previous message's topic breaks the tie ("what are your hours" + "same on
    saturday?"), where otherwise it would only repeat itself."""
    _, confidence = _intent(parse)
    return any(r.get("name") == name and float(r.get("confidence") or 0.0) >= confidence - TIE
               for r in (parse.get("intent_ranking") or [])[:3])


# "ok", "sounds good", "good to know, thanks": words that acknowledge the previous reply
# before the real message ("ok sounds good, sign me up", "ok can I talk to a physio about
# it?"). Never "no" or "nope": a denial belongs to what follows ("no chest pain, just ...");
# never "yes" or "sure": they answer a question ("yes please, as soon as possible"). Words
# that also start ordinary sentences ("so sore", "well enough to", "great toe", "cool
# packs", "I see a chiro") count only when a comma or a stop follows them.
_ACKNOWLEDGEMENT = re.compile(
    r"^\s*(?:(?:(?:ok(?:ay)?|alright|all right|perfect|awesome|hmm+|thanks|thank you|thx"
    r"|sounds good|good to know|got it|gotcha|makes sense|that makes sense|fair enough)\b[\s,.!:;-]*)"
    r"|(?:(?:k|so|well|great|cool|oh|ah|i see|interesting)\s*[,.!:;-]+\s*))+", re.IGNORECASE)
MIN_REST_WORDS = 2


async def without_acknowledgement(parse: dict[str, Any], reparse: Reparse) -> dict[str, Any]:
    """``parse`` of a message that opens with an acknowledgement, re-read without it when
    the rest alone is a confident answer (at least CONFIDENT, and surer than the whole):
    "ok sounds good, sign me up" is a booking, not a yes. The message keeps its own text
    (for the log and the red-flag check, which read the whole); a red flag in the whole is
    never re-read, and the rest's own red-flag reading is never taken. The
    rest's entities are placed where they are in the whole. The Rasa server does not
    call it while a form is asking its questions ("ok send it" answers the summary)."""
    text = parse.get("text") or ""
    match = _ACKNOWLEDGEMENT.match(text)
    if not match or match.end() == 0 or text.startswith("/"):
        return parse
    rest = text[match.end():]
    if len(_words(rest)) < MIN_REST_WORDS:
        return parse
    name, confidence = _intent(parse)
    if name.startswith("red_flag"):
        return parse
    alone = await reparse(rest)
    rest_name, rest_confidence = _intent(alone)
    # A red flag is decided on the whole message, never on a part of it.
    if rest_name in UNSURE_INTENTS or rest_name == name or rest_name.startswith("red_flag"):
        return parse
    if rest_confidence < CONFIDENT or rest_confidence <= confidence:
        return parse
    offset = match.end()
    entities = [{**e, "start": int(e.get("start") or 0) + offset, "end": int(e.get("end") or 0) + offset}
                for e in alone.get("entities") or []]
    return {**parse, "intent": dict(alone["intent"]),
            "intent_ranking": alone.get("intent_ranking") or [alone["intent"]], "entities": entities,
            "acknowledgement": {"read_without": text[:offset].strip(), "instead_of": name}}


# The form fields whose answer is a phone number or an email, and the intents that
# would interrupt a form (domain/booking.yml, &not_an_answer) other than the red flags.
CONTACT_FIELDS = {("booking_form", "booking_contact"), ("handoff_form", "handoff_contact")}
_CONTACT_LIKE = re.compile(r"\d|@")


def as_form_answer(parse: dict[str, Any], active_loop: Optional[str],
                   requested_slot: Optional[str]) -> dict[str, Any]:
    """While a form asks for a phone number or email, a message with a digit or an "@"
    is an attempt at it, even if it reads like "call me": "call me on 555" gets the
    re-ask that explains the format, not a handoff that forgets the booking. The
    intent becomes the next one of the ranking that does not interrupt the form."""
    name, _ = _intent(parse)
    if (active_loop, requested_slot) not in CONTACT_FIELDS or name != "request_human" \
            or not _CONTACT_LIKE.search(parse.get("text") or ""):
        return parse
    others = [r for r in parse.get("intent_ranking") or [] if r.get("name") not in ("request_human", "stop")]
    chosen = dict(others[0]) if others else {"name": "unclear", "confidence": 1.0}
    return {**parse, "intent": chosen, "form_answer": {"instead_of": name}}
