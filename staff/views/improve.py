"""Improving the bot: marking a patient message with the answer it should have had,
and the list of marked messages."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from staff import audit, conversations, improve
from staff.console import console
from staff.privacy import mask
from staff.roles import needs

blueprint = Blueprint("improve", __name__)


@blueprint.get("/improve")
@needs("improve")
def improve_page() -> Any:
    clinic = console()
    marked = improve.marked_messages(clinic.engine)
    for item in marked:
        item["text"] = mask(item["text"], clinic.keep())
    page = render_template("improve.html", marked=marked)
    audit.record(clinic.engine, g.member.username, "view_improve")
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
    if turn is None or (choice != improve.NEW_QUESTION and choice not in improve.answer_intents()):
        flash("Choose an answer from the list, or 'new question'.", "error")
        return redirect(transcript_page)
    improve.mark(clinic.engine, conversation_id, turn, choice, g.member.username)
    audit.record(clinic.engine, g.member.username, "mark", conversation_id, choice)
    flash("Marked for training.", "ok")
    return redirect(transcript_page + f"#turn-{event_id}")
