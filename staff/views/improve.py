"""Improving the bot: marking a patient message with the answer it should have had,
the list of marked messages, proposing them as a new topic or as new wordings of an
answer, a clinician's decision on each proposal, and the background training's
progress (clinic_assistant/training/)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from clinic_assistant.clinic.answer_texts import title_of
from clinic_assistant.training import additions as teach
from clinic_assistant.training.worker import ACTIVE, runs, trainer_running
from staff import audit, conversations, improve
from staff.console import console
from staff.privacy import mask
from staff.roles import needs

blueprint = Blueprint("improve", __name__)


def _improve_page(form: dict[str, Any] | None = None, problems: list[str] | None = None, status: int = 200) -> Any:
    clinic = console()
    keep = clinic.keep()
    marked = improve.marked_messages(clinic.engine)
    proposals = teach.additions(clinic.engine)
    used: dict[int, list[int]] = {}
    for proposal in proposals:
        for mark_id in proposal.mark_ids:
            used.setdefault(mark_id, []).append(proposal.id)
    for item in marked:
        item["text"] = mask(item["text"], keep)
        item["used_in"] = used.get(item["id"], [])
    shown = [(p, [mask(text, keep) for text in p.examples]) for p in proposals]
    topics = teach.taught_topics(clinic.engine)
    intents = [(name, topics[name].title if name in topics else title_of(f"utter_{name}"))
               for name in improve.markable_intents(clinic.engine)]
    declined = improve.unanswered(clinic.engine)
    for item in declined:
        item["text"] = mask(item["text"], keep)
    latest = runs(clinic.engine, limit=1)
    page = render_template("improve.html", marked=marked, declined=declined, days=improve.UNANSWERED_DAYS,
                           proposals=shown, intents=intents, trainer_running=trainer_running(clinic.engine),
                           form=form or {}, problems=problems or [], latest=latest[0] if latest else None,
                           min_examples=teach.MIN_TOPIC_EXAMPLES)
    return page, status


@blueprint.get("/improve")
@needs("improve")
def improve_page() -> Any:
    clinic = console()
    page = _improve_page()
    audit.record(clinic.engine, g.member.username, "view_improve")
    return page


def _proposal_form() -> tuple[dict[str, Any], list[int], list[str]]:
    form: dict[str, Any] = {key: request.form.get(key, "") for key in ("title", "answer_text", "intent", "typed", "reason")}
    try:
        mark_ids = [int(value) for value in request.form.getlist("mark_id")]
    except ValueError:
        abort(400)
    try:
        event_ids = [int(value) for value in request.form.getlist("event_id")]
    except ValueError:
        abort(400)
    if event_ids:  # declined messages chosen from "Unanswered lately": marked now, kept if a check fails
        intent = form["intent"] if request.path.endswith("/wordings") else None
        if intent not in improve.markable_intents(console().engine):
            intent = None  # marked as a new question; the proposal's check names the missing answer
        mark_ids += improve.mark_unanswered(console().engine, event_ids, intent, g.member.username)
        audit.record(console().engine, g.member.username, "mark", detail=f"{len(event_ids)} unanswered messages")
    form["mark_ids"] = mark_ids
    typed = [line for line in form["typed"].splitlines() if line.strip()]
    return form, mark_ids, typed


@blueprint.post("/improve/topics")
@needs("propose_changes")
def propose_topic() -> Any:
    clinic = console()
    form, mark_ids, typed = _proposal_form()
    try:
        addition_id = teach.propose_topic(clinic.engine, form["title"], form["answer_text"], mark_ids, typed,
                                          form["reason"], g.member.username, improve.markable_intents(clinic.engine))
    except teach.AdditionError as error:
        flash("Nothing was proposed yet: see what to change below.", "error")
        return _improve_page(form, error.problems, status=422)
    audit.record(clinic.engine, g.member.username, "propose_topic", detail=f"addition {addition_id}")
    flash(f"Proposed as new topic {addition_id}. A clinician approves it; then the bot learns it in the background.", "ok")
    return redirect(url_for("improve.improve_page") + f"#addition-{addition_id}")


@blueprint.post("/improve/wordings")
@needs("propose_changes")
def propose_wordings() -> Any:
    clinic = console()
    form, mark_ids, typed = _proposal_form()
    try:
        addition_id = teach.propose_wordings(clinic.engine, form["intent"], mark_ids, typed, form["reason"],
                                             g.member.username, improve.markable_intents(clinic.engine))
    except teach.AdditionError as error:
        flash("Nothing was proposed yet: see what to change below.", "error")
        return _improve_page(form, error.problems, status=422)
    audit.record(clinic.engine, g.member.username, "propose_wordings", detail=f"addition {addition_id}")
    flash(f"Proposed as new wordings ({addition_id}). A clinician approves them; then the bot learns them "
          "in the background.", "ok")
    return redirect(url_for("improve.improve_page") + f"#addition-{addition_id}")


def _decide(addition_id: int, approve: bool) -> Any:
    clinic = console()
    try:
        teach.decide(clinic.engine, addition_id, g.member.username, g.member.role, approve)
    except teach.AdditionError as error:
        flash(f"Nothing was changed: {error.problems[0]}.", "error")
        return redirect(url_for("improve.improve_page") + f"#addition-{addition_id}")
    audit.record(clinic.engine, g.member.username, "approve_addition" if approve else "reject_addition",
                 detail=f"addition {addition_id}")
    if approve:
        flash("Approved. The bot is learning it now: follow the progress here.", "ok")
        return redirect(url_for("improve.training"))
    flash("Rejected; the bot does not learn it.", "ok")
    return redirect(url_for("improve.improve_page") + f"#addition-{addition_id}")


@blueprint.post("/improve/additions/<int:addition_id>/approve")
@needs("approve_training")
def approve(addition_id: int) -> Any:
    return _decide(addition_id, True)


@blueprint.post("/improve/additions/<int:addition_id>/reject")
@needs("approve_training")
def reject(addition_id: int) -> Any:
    return _decide(addition_id, False)


@blueprint.post("/improve/additions/<int:addition_id>/withdraw")
@needs("approve_training")
def withdraw(addition_id: int) -> Any:
    clinic = console()
    try:
        teach.withdraw(clinic.engine, addition_id, g.member.username, g.member.role)
    except teach.AdditionError as error:
        flash(f"Nothing was changed: {error.problems[0]}.", "error")
        return redirect(url_for("improve.improve_page") + f"#addition-{addition_id}")
    audit.record(clinic.engine, g.member.username, "withdraw_addition", detail=f"addition {addition_id}")
    flash("Withdrawn. The bot is learning again without it: follow the progress here.", "ok")
    return redirect(url_for("improve.training"))


@blueprint.get("/improve/training")
@needs("improve")
def training() -> Any:
    clinic = console()
    found = runs(clinic.engine)
    active = any(run["status"] in ACTIVE for run in found) or bool(teach.additions(clinic.engine, (teach.APPROVED,)))
    page = render_template("training.html", runs=found, active=active, trainer_running=trainer_running(clinic.engine))
    audit.record(clinic.engine, g.member.username, "view_training")
    return page


@blueprint.post("/conversations/<conversation:conversation_id>/mark")
@needs("improve")
def mark(conversation_id: str) -> Any:
    clinic = console()
    choice = request.form.get("intent", "")
    try:
        event_id = int(request.form.get("event_id", ""))
    except ValueError:
        abort(400)
    turn = next((t for t in conversations.transcript(clinic.engine, conversation_id, clinic.tz())
                 if t.event_id == event_id and t.kind == "user"), None)
    transcript_page = url_for("conversations.conversation", conversation_id=conversation_id)
    if turn is None or (choice != improve.NEW_QUESTION and choice not in improve.markable_intents(clinic.engine)):
        flash("Choose an answer from the list, or 'new question'.", "error")
        return redirect(transcript_page)
    improve.mark(clinic.engine, conversation_id, turn, choice, g.member.username)
    audit.record(clinic.engine, g.member.username, "mark", conversation_id, choice)
    flash("Marked for training.", "ok")
    return redirect(transcript_page + f"#turn-{event_id}")
