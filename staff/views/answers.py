"""The bot's answer texts: every answer by kind and topic; a draft with its preview,
its checks and where it is used; approval by a second person (a clinician for
conditions, treatment, aftercare and safety); versions with diffs, restore, and export
as domain/ YAML (clinic_assistant/clinic/answer_texts.py)."""
from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from clinic_assistant.clinic import answer_texts
from clinic_assistant.settings import PROJECT_ROOT
from staff import audit
from staff.console import console
from staff.roles import needs

blueprint = Blueprint("answers", __name__)
MAX_ID = 2**31 - 1
EXAMPLE_VALUES = {"name": "Ann", "contact": "(780) 555-0123", "times": "Tuesday, December 8, afternoon",
                  "condition": "neck pain", "summary": "…", "callback_phone": "(780) 555-0123",
                  "hours_day": "Saturday, December 26 (Boxing Day)", "hours_span": "8 a.m. to 6 p.m.",
                  "hours_reason": "", "hours_next": "Monday, December 28 at 8 a.m.", "next_opening": "Monday at 8 a.m.",
                  "reply_expected": "soon"}


def _answers() -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    shipped = answer_texts.known_responses(console().engine)
    return shipped, answer_texts.live_texts(console().engine)


def _title(response: str, topics: Optional[dict[str, tuple[str, str]]] = None) -> str:
    """An answer's title; a new topic's is the name staff gave it."""
    topic = (answer_texts.console_topics(console().engine) if topics is None else topics).get(response)
    return topic[0] if topic else answer_texts.title_of(response)


@blueprint.get("/answers")
@needs("read_conversations")
def answer_list() -> Any:
    shipped, live = _answers()
    waiting = {version.response for version in answer_texts.versions(console().engine)
               if version.status == answer_texts.PROPOSED}
    groups: dict[str, list[dict[str, Any]]] = {kind: [] for kind in answer_texts.KIND_TITLES}
    topics = answer_texts.console_topics(console().engine)
    for name, variants in sorted(shipped.items(), key=lambda item: _title(item[0], topics)):
        groups[answer_texts.kind_of(name)].append({
            "name": name, "title": _title(name, topics), "editable": answer_texts.editable(variants),
            "text": live.get(name, variants[0].get("text") or ""), "changed": name in live, "waiting": name in waiting})
    audit.record(console().engine, g.member.username, "view_answers")
    return render_template("answers.html", groups=groups, kinds=answer_texts.KIND_TITLES)


def _page(response: str, draft: Optional[str] = None, reason: str = "", problems: Optional[list[str]] = None,
          status: int = 200) -> Any:
    shipped, live = _answers()
    variants = shipped.get(response)
    if variants is None:
        abort(404)
    current = live.get(response, variants[0].get("text") or "")
    slots = {**EXAMPLE_VALUES, **console().profile().as_slots()}
    everything = answer_texts.versions(console().engine, response)
    waiting = [(v, answer_texts.diff(current, v.text or ""), answer_texts.render(v.text or "", slots))
               for v in everything if v.status == answer_texts.PROPOSED]
    history = []
    before = variants[0].get("text") or ""
    approved_text: dict[int, str] = {}
    for version in reversed(everything):
        if version.status == answer_texts.APPROVED:
            after = version.text if version.text is not None else (variants[0].get("text") or "")
            approved_text[version.id] = after
            history.append((version, answer_texts.diff(before, after)))
            before = after
        elif version.status == answer_texts.REJECTED:
            history.append((version, answer_texts.diff(current, version.text or "")))
    live_id = max((v.id for v in everything if v.status == answer_texts.APPROVED), default=None)
    counts = answer_texts.held_out_counts().get(response, {})
    kind = answer_texts.kind_of(response)
    return render_template(
        "answer.html", response=response, title=_title(response), kind=kind,
        kind_title=answer_texts.KIND_TITLES[kind], needs_clinician=kind in answer_texts.NEEDS_CLINICIAN,
        editable=answer_texts.editable(variants), current=current, rendered=answer_texts.render(current, slots),
        buttons=variants[0].get("buttons") or [], draft=current if draft is None else draft,
        preview=answer_texts.render(draft, slots) if draft is not None else None, problems=problems or [],
        reason=reason, waiting=waiting, history=list(reversed(history)), live_id=live_id,
        stories=answer_texts.stories_using(response), counts=counts,
        variables=sorted(answer_texts.variables(current)),
        tests_here=(PROJECT_ROOT / "tests" / "stories").is_dir(),
    ), status


@blueprint.get("/answers/<response>")
@needs("read_conversations")
def answer_page(response: str) -> Any:
    return _page(response)


@blueprint.post("/answers/<response>")
@needs("propose_changes")
def propose(response: str) -> Any:
    draft = request.form.get("text", "")[: answer_texts.MAX_TEXT * 2]
    reason = request.form.get("reason", "")[:500]
    if request.form.get("step") == "preview":
        shipped, live = _answers()
        variants = shipped.get(response) or abort(404)
        problems = answer_texts.check_text(response, draft, live.get(response, variants[0].get("text") or ""))
        return _page(response, draft, reason, problems, status=422 if problems else 200)
    try:
        seen: Optional[int] = int(request.form.get("based_on", "")) or None
    except ValueError:
        abort(400, "This form is missing the version it was written on; reload the page and try again.")
    try:
        version_id = answer_texts.propose(console().engine, response, draft, reason, g.member.username, seen=seen)
    except answer_texts.AnswerError as error:
        flash("Nothing was proposed yet: see what to change below.", "error")
        return _page(response, draft, reason, error.problems, status=422)
    audit.record(console().engine, g.member.username, "propose_answer", None,
                 f"{response} version {version_id}: {reason[:200]}")
    who = "a clinician" if answer_texts.kind_of(response) in answer_texts.NEEDS_CLINICIAN else "another member of staff"
    flash(f"Proposed. It goes live when {who} approves it.", "ok")
    return redirect(url_for("answers.answer_page", response=response) + f"#draft-{version_id}")


def _decide(response: str, version_id: int, approve: bool) -> Any:
    try:
        version = answer_texts.decide(console().engine, version_id, g.member.username, g.member.role, approve)
    except answer_texts.AnswerError as error:
        flash(f"Nothing was changed: {error.problems[0]}.", "error")
        return redirect(url_for("answers.answer_page", response=response))
    audit.record(console().engine, g.member.username, "approve_answer" if approve else "reject_answer", None,
                 f"{version.response} version {version.id} by {version.proposed_by}")
    flash("Approved: the bot says the new text now." if approve else "Rejected; nothing changed.", "ok")
    return redirect(url_for("answers.answer_page", response=version.response))


@blueprint.post(f"/answers/<response>/<int(max={MAX_ID}):version_id>/approve")
@needs("approve_answers")
def approve(response: str, version_id: int) -> Any:
    return _decide(response, version_id, approve=True)


@blueprint.post(f"/answers/<response>/<int(max={MAX_ID}):version_id>/reject")
@needs("approve_answers")
def reject(response: str, version_id: int) -> Any:
    return _decide(response, version_id, approve=False)


@blueprint.post(f"/answers/<response>/<int(max={MAX_ID}):version_id>/restore")
@needs("approve_answers")
def restore(response: str, version_id: int) -> Any:
    try:
        new_id = answer_texts.restore(console().engine, response, version_id, g.member.username, g.member.role)
    except answer_texts.AnswerError as error:
        flash(f"Nothing was changed: {error.problems[0]}.", "error")
        return redirect(url_for("answers.answer_page", response=response))
    what = "the text of domain/" if version_id == 0 else f"version {version_id}"
    audit.record(console().engine, g.member.username, "restore_answer", None, f"{response}: {what} as version {new_id}")
    flash(f"Restored {what}: the bot says it now.", "ok")
    return redirect(url_for("answers.answer_page", response=response))


@blueprint.get("/exports/answers.yml")
@needs("export")
def export_answers() -> Response:
    body = answer_texts.export_yaml(console().engine)
    audit.record(console().engine, g.member.username, "export", None, "answer texts (domain YAML)")
    return Response(body, mimetype="text/yaml",
                    headers={"Content-Disposition": "attachment; filename=answers-from-console.yml"})
