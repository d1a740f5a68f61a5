"""The bot's answer texts as staff improve them in the console (issue #19, 3 and 4).

Every response of ``domain/`` with one plain text is listed by kind and topic. A new
text is a *draft*: it is checked for what the bot must never state (a price, a
coverage decision, a time of day or a phone number written out instead of the clinic's
details, a variable the bot cannot fill) and, for safety replies, for emergency
wording taken out; then proposed. Changes to answers about conditions, treatment,
aftercare and safety need a clinician's approval, others any second person; never the
author's own. The newest approved text of each response is what the Rasa server's
answer renderer uses (clinic_assistant/rasa/nlg.py; checked at most once a second).
Every version is kept with who, when, why and a diff, and any can be restored; the
current texts can be exported as ``domain/`` YAML for the repository.
"""
from __future__ import annotations

import difflib
import re
import string
import time as clock
from functools import lru_cache
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional

import phonenumbers
import sqlalchemy as sa
import yaml

from clinic_assistant.clinic.answers import CONDITION_RESPONSES, UNLISTED_RESPONSE
from clinic_assistant.clinic.db import answer_versions, engine_for, serialize_writers
from clinic_assistant.clinic.topics import TOPIC_TITLES
from clinic_assistant.settings import PROJECT_ROOT

PROPOSED, APPROVED, REJECTED = "proposed", "approved", "rejected"
SAFETY, CLINICAL, CLINIC, GENERAL = "safety", "clinical", "clinic", "general"
KIND_TITLES = {SAFETY: "Safety", CLINICAL: "Conditions, treatment and aftercare",
               CLINIC: "The clinic (contact, hours, prices, insurance)", GENERAL: "Conversation and booking"}
NEEDS_CLINICIAN = {SAFETY, CLINICAL}
CHECK_EVERY_SECONDS = 1.0
MAX_TEXT = 1000

_SAFETY = {"utter_red_flag_emergency", "utter_red_flag_same_day", "utter_red_flag_crisis",
           "utter_faq_comfort_and_safety", "utter_faq_medical_advice", "utter_disclaimer"}
# a response whose text (in domain/) sends patients to emergency care is a safety reply
_EMERGENCY_TEXT = re.compile(r"\b(911|811|988|9-8-8|emergency)\b", re.I)
_VARIABLE = re.compile(r"\{([a-z_]+)\}")
_CLINIC = {"utter_faq_location", "utter_faq_contact", "utter_faq_hours", "utter_faq_price",
           "utter_faq_insurance", "utter_faq_availability", "utter_faq_parking", "utter_faq_why_this_clinic",
           "utter_faq_bot_identity"}
# the words a safety reply must keep when they are in it now
_EMERGENCY_WORDS = re.compile(r"\b(911|811|9-8-8|988|emergency department|emergency|urgent care|right now|now|"
                              r"today|call|don't wait)\b", re.I)
# what the bot must never state in its own words
_NEVER = (
    (re.compile(r"\$\s?\d|\b\d+(\.\d+)?\s?(dollars|bucks|cad)\b|\bfree of charge\b|\bno charge\b", re.I),
     "a price or dollar amount: the bot never states prices (send patients to the front desk)"),
    (re.compile(r"\b(is|are|will be|fully|partly|partially)\s+covered\b|\bwe (can )?direct[- ]bill\b|"
                r"\binsurance (will )?(covers?|pays?)\b|\bcovered by (your )?(insurance|ahs|alberta health)\b", re.I),
     "a coverage decision: the bot never says what insurance covers"),
    (re.compile(r"\b\d{1,2}(:\d{2})?\s?(a\.?m\.?|p\.?m\.?)(?![a-z])|\b(noon|midnight)\b|\b\d{1,2}:\d{2}\b", re.I),
     "a time of day written out: use {clinic_hours}, so it follows the clinic details"),
)


class AnswerError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- the answers -------------------------------------------------------------------------
def responses_dir() -> Path:
    from clinic_assistant.rasa.nlg import responses_dir as live_dir

    return live_dir()


_shipped: tuple[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = ((), {})


def shipped_responses() -> dict[str, list[dict[str, Any]]]:
    """The responses of domain/ as the files have them (loaded again only when a file
    changed: a page and its checks ask several times)."""
    from rasa.shared.core.domain import Domain

    global _shipped
    folder = responses_dir()
    stamp = (str(folder), *((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*.yml"))))
    if stamp != _shipped[0]:
        _shipped = (stamp, {name: list(variants) for name, variants in Domain.load(str(folder)).responses.items()})
    return {name: list(variants) for name, variants in _shipped[1].items()}


def console_topics(engine: sa.engine.Engine) -> dict[str, tuple[str, str]]:
    """The answers of new topics taught in the console and live (clinic_assistant/training/):
    response -> (title, the answer text it was taught with)."""
    from clinic_assistant.training.additions import LIVE, taught_topics

    return {a.response: (a.title or a.intent, a.answer_text or "") for a in taught_topics(engine, (LIVE,)).values()}


def known_responses(engine: sa.engine.Engine) -> dict[str, list[dict[str, Any]]]:
    """Every answer the bot can give: domain/'s, and the new topics' taught in the console."""
    return {**shipped_responses(), **{name: [{"text": text}] for name, (_, text) in console_topics(engine).items()}}


def editable(variants: list[dict[str, Any]]) -> bool:
    """One plain text (no variants by language or channel): edited in the console."""
    return len(variants) == 1 and bool(variants[0].get("text")) and not variants[0].get("condition") \
        and not variants[0].get("channel")


@lru_cache(maxsize=1)
def _emergency_responses() -> frozenset[str]:
    """The responses of domain/ that send patients to emergency care (read once)."""
    return frozenset(name for name, variants in shipped_responses().items()
                     if any(_EMERGENCY_TEXT.search(str(v.get("text") or "")) for v in variants))


def kind_of(response: str) -> str:
    if response in _SAFETY or response in _emergency_responses():
        return SAFETY
    if response in _CLINIC or response.startswith("utter_hours_day_"):
        return CLINIC
    if response.startswith(("utter_condition_", "utter_faq_")):
        return CLINICAL
    return GENERAL


def title_of(response: str) -> str:
    intent = response.removeprefix("utter_")
    if intent in TOPIC_TITLES:
        return TOPIC_TITLES[intent]
    for condition, name in CONDITION_RESPONSES.items():
        if name == response:
            return f"Condition: {condition}"
    return intent.replace("_", " ").capitalize()


def variables(text: str) -> set[str]:
    return set(_VARIABLE.findall(text))


def _variable_problem(text: str) -> str | None:
    """A brace that is not a plain {name} (a format spec, a conversion, {{ }}, a brace
    left open): Rasa would then send the whole text unfilled."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text)
                  if name is not None]
    except ValueError:
        return "a { or } is not closed: variables are written like {clinic_phone}"
    if "{{" in text or "}}" in text or any(
            spec or conversion or not re.fullmatch(r"[a-z_]+", name) for name, spec, conversion in fields):
        return "variables are written exactly like {clinic_phone}: lowercase letters and _ between single braces"
    return None


# --- checks ----------------------------------------------------------------------------
def check_text(response: str, draft: str, current: str) -> list[str]:
    """What is wrong with a draft, as sentences for staff (empty: nothing)."""
    problems: list[str] = []
    text = draft.strip()
    if not text:
        return ["the text is empty"]
    if len(text) > MAX_TEXT:
        problems.append(f"the text is {len(text)} characters; keep it under {MAX_TEXT}")
    broken = _variable_problem(text)
    if broken:
        return problems + [broken]
    used = variables(text)
    shipped = shipped_responses().get(response) or [{}]
    allowed = variables(current) | variables(str(shipped[0].get("text") or "")) | set(_clinic_variables())
    unknown = sorted(used - allowed)
    if unknown:
        problems.append("the bot cannot fill " + ", ".join("{" + name + "}" for name in unknown)
                        + "; it can fill " + ", ".join("{" + name + "}" for name in sorted(allowed)))
    plain = re.sub(r"\{[a-z_]+\}", " ", text)
    for pattern, reason in _NEVER:
        found = pattern.search(plain)
        if found:
            problems.append(f"“{found.group(0).strip()}” looks like {reason}")
    for match in phonenumbers.PhoneNumberMatcher(plain, "CA"):
        problems.append(f"“{match.raw_string}” is a phone number written out: use {{clinic_phone}}")
    if kind_of(response) == SAFETY:
        kept = {word.lower() for word in _EMERGENCY_WORDS.findall(current)}
        now = {word.lower() for word in _EMERGENCY_WORDS.findall(text)}
        missing = sorted(kept - now)
        if missing:
            problems.append("a safety reply must keep its emergency wording: " + ", ".join(f"“{w}”" for w in missing)
                            + " was taken out")
    return problems


def _clinic_variables() -> list[str]:
    from clinic_assistant.clinic.profile import ClinicProfile

    return list(ClinicProfile("n", "c", "p", "1", "e", "a", "b").as_slots())


def render(text: str, slots: dict[str, str]) -> str:
    """The text as a patient reads it (variables the example cannot fill stay visible)."""
    return _VARIABLE.sub(lambda match: str(slots.get(match.group(1), match.group(0))), text)


# --- where an answer is used ----------------------------------------------------------------
def stories_using(response: str) -> list[str]:
    """The test stories (tests/stories/) that expect this response."""
    found = []
    for path in sorted((PROJECT_ROOT / "tests" / "stories").glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for story in raw.get("stories") or []:
            if any(step.get("action") == response for step in story.get("steps") or []):
                found.append(f"{path.name}: {story.get('story')}")
    return found


def _answer_response(answer: str) -> str:
    if answer.startswith("condition/"):
        return CONDITION_RESPONSES.get(answer.split("/", 1)[1], UNLISTED_RESPONSE)
    return f"utter_{answer}"


def held_out_counts() -> dict[str, dict[str, int]]:
    """How many held-out messages (tests/nlu_eval/) expect each response, per set."""
    counts: dict[str, dict[str, int]] = {}
    for path in sorted((PROJECT_ROOT / "tests" / "nlu_eval").glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items: Iterable[dict[str, Any]] = [*(raw.get("messages") or []),
                                           *(turn for c in raw.get("conversations") or [] for turn in c["turns"])]
        for item in items:
            name = _answer_response(str(item.get("answer", "")))
            counts.setdefault(name, {}).setdefault(path.name, 0)
            counts[name][path.name] += 1
    return counts


# --- versions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnswerVersion:
    id: int
    response: str
    text: Optional[str]  # None: back to the text of domain/
    reason: str
    status: str
    based_on: Optional[int]
    restored_from: Optional[int]
    proposed_by: str
    proposed_at: datetime
    decided_by: Optional[str]
    decided_at: Optional[datetime]


def _version(row: Any) -> AnswerVersion:
    return AnswerVersion(**{key: row[key] for key in AnswerVersion.__dataclass_fields__})


def _live_query(response: str) -> Any:
    # the newest approved one, as live_texts reads it (decisions take turns: serialize_writers)
    return (sa.select(answer_versions).where(answer_versions.c.response == response,
                                             answer_versions.c.status == APPROVED)
            .order_by(answer_versions.c.id.desc()).limit(1))


def live_texts(engine: sa.engine.Engine) -> dict[str, str]:
    """The newest approved text of each response changed in the console."""
    newest = (sa.select(answer_versions.c.response, sa.func.max(answer_versions.c.id).label("id"))
              .where(answer_versions.c.status == APPROVED).group_by(answer_versions.c.response).subquery())
    with engine.connect() as connection:
        rows = connection.execute(sa.select(answer_versions.c.response, answer_versions.c.text)
                                  .join(newest, newest.c.id == answer_versions.c.id)).all()
    return {response: text for response, text in rows if text is not None}


def versions(engine: sa.engine.Engine, response: Optional[str] = None) -> list[AnswerVersion]:
    query = sa.select(answer_versions).order_by(answer_versions.c.id.desc())
    if response:
        query = query.where(answer_versions.c.response == response)
    with engine.connect() as connection:
        return [_version(row) for row in connection.execute(query).mappings()]


def propose(engine: sa.engine.Engine, response: str, text: str, reason: str, username: str,
            seen: "int | None | str" = "any") -> int:
    """Saves a draft; ``seen``: the live version the draft was written on (None: the text
    of domain/); a draft written on an older one is refused."""
    variants = known_responses(engine).get(response)
    if variants is None or not editable(variants):
        raise AnswerError(["this answer cannot be edited in the console"])
    current = live_texts(engine).get(response, variants[0]["text"])
    problems = check_text(response, text, current)
    why = " ".join(reason.split())[:500]
    if not why:
        problems.append("say in a few words why (it is kept with the version)")
    if problems:
        raise AnswerError(problems)
    with engine.begin() as connection:
        live = connection.execute(_live_query(response)).mappings().first()
        if seen != "any" and seen != (live["id"] if live else None):
            raise AnswerError(["this answer changed while you were writing (someone's draft was approved); "
                               "the page now shows the current text: write your change again on it"])
        result = connection.execute(answer_versions.insert().values(
            response=response, text=text.strip(), reason=why, status=PROPOSED, based_on=live["id"] if live else None,
            proposed_by=username, proposed_at=_now()))
        return int(result.inserted_primary_key[0])


def decide(engine: sa.engine.Engine, version_id: int, username: str, role: str, approve: bool) -> AnswerVersion:
    """Approves (live within a second) or rejects a draft. Never the author's own;
    safety and clinical answers only by a clinician; a draft overtaken by another
    approved change of the same answer must be written again."""
    from staff.roles import allows

    with engine.begin() as connection:
        serialize_writers(connection, answer_versions)
        row = connection.execute(sa.select(answer_versions).where(answer_versions.c.id == version_id)).mappings().first()
        if row is None or row["status"] != PROPOSED:
            raise AnswerError(["there is no such draft waiting (it may have been decided already)"])
        if row["proposed_by"] == username:
            raise AnswerError(["a change needs a second person: someone other than its author approves or rejects it"])
        if kind_of(row["response"]) in NEEDS_CLINICIAN and not allows(role, "approve_clinical_answers"):
            raise AnswerError(["an answer about conditions, treatment, aftercare or safety is approved or rejected "
                               "by a clinician"])
        live = connection.execute(_live_query(row["response"])).mappings().first()
        if approve and (live["id"] if live else None) != row["based_on"]:
            raise AnswerError(["this answer changed after the draft was written; reject it and write the change "
                               "again on the current text"])
        changed = connection.execute(answer_versions.update().where(
            answer_versions.c.id == version_id, answer_versions.c.status == PROPOSED).values(
            status=APPROVED if approve else REJECTED, decided_by=username, decided_at=_now()))
        if changed.rowcount == 0:
            raise AnswerError(["someone decided on it at the same moment"])
        decided = connection.execute(sa.select(answer_versions)
                                     .where(answer_versions.c.id == version_id)).mappings().one()
    return _version(decided)


def restore(engine: sa.engine.Engine, response: str, version_id: int, username: str, role: str) -> int:
    """Makes an earlier approved text of this answer (0: the text of domain/) live again,
    as a new version; safety and clinical answers only by a clinician."""
    from staff.roles import allows

    if kind_of(response) in NEEDS_CLINICIAN and not allows(role, "approve_clinical_answers"):
        raise AnswerError(["an answer about conditions, treatment, aftercare or safety is restored by a clinician"])
    text: Optional[str] = None
    if version_id:
        old = next((v for v in versions(engine, response) if v.id == version_id), None)
        if old is None or old.status != APPROVED:
            raise AnswerError(["only a text that was approved can be restored"])
        text = old.text
    with engine.begin() as connection:
        serialize_writers(connection, answer_versions)
        live = connection.execute(_live_query(response)).mappings().first()
        moment = _now()
        result = connection.execute(answer_versions.insert().values(
            response=response, text=text, reason=f"restored {'the text of domain/' if not version_id else f'version {version_id}'}",
            status=APPROVED, based_on=live["id"] if live else None, restored_from=version_id,
            proposed_by=username, proposed_at=moment, decided_by=username, decided_at=moment))
        return int(result.inserted_primary_key[0])


def diff(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if not line.startswith(("---", "+++", "@@"))]


def export_yaml(engine: sa.engine.Engine) -> str:
    """Every editable answer with its current text, as a domain/ file (responses:)."""
    shipped = shipped_responses()
    changed = live_texts(engine)
    responses = {}
    for name, variants in sorted(shipped.items()):
        if editable(variants) and name in changed:
            responses[name] = [{**variants[0], "text": changed[name]}]
    header = ("# Answer texts changed in the staff console (newest approved versions), as domain/ YAML.\n"
              "# Copy each response over the one of the same name in domain/*.yml.\n")
    body: str = yaml.safe_dump({"version": "3.1", "responses": responses}, sort_keys=False, allow_unicode=True,
                               width=1000)
    return header + body


# --- what the Rasa server renders ----------------------------------------------------------
_live: dict[str, tuple[float, dict[str, str]]] = {}


def current_texts(database_url: str) -> dict[str, str]:
    """``live_texts`` of the database, asked at most once a second per process."""
    checked, texts = _live.get(database_url, (0.0, {}))
    if clock.monotonic() - checked >= CHECK_EVERY_SECONDS:
        try:
            texts = live_texts(engine_for(database_url))
        except sa.exc.SQLAlchemyError:  # keep the last texts known
            pass
        _live[database_url] = (clock.monotonic(), texts)
    return texts
