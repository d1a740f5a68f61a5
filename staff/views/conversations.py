"""Conversations: the list with its filters, a transcript, contacts revealed on
request, a live reply, handing back to the bot, reviewed, forget."""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from clinic_assistant.clinic import identity
from clinic_assistant.clinic.db import BOOKING_STATUSES, HANDOFF_STATUSES, contact_of
from staff import audit, conversations, live, queues
from staff.console import console
from staff.improve import markable_intents
from staff.privacy import PHONE_MASK, hide_contacts, mask
from staff.roles import needs

blueprint = Blueprint("conversations", __name__)

CONTACT_MASK = {"messenger": "[Messenger id hidden]", "sms": PHONE_MASK, "whatsapp": PHONE_MASK}


def _flag(value: Optional[str]) -> Optional[bool]:
    return {"yes": True, "no": False}.get(value or "")


def _day(value: Optional[str]) -> Optional[date]:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filters_from(args: Any) -> conversations.Filters:
    """The list's filters from a query string; anything malformed is left out."""
    try:
        page = max(int(args.get("page", "1")), 1)
    except ValueError:
        page = 1
    channel = args.get("channel", "")
    return conversations.Filters(
        q=args.get("q", "")[:200], date_from=_day(args.get("from")), date_to=_day(args.get("to")),
        channel=channel if channel in conversations.CHANNELS else "",
        handed_off=_flag(args.get("handed_off")), urgent=_flag(args.get("urgent")),
        fallback=_flag(args.get("fallback")), booking=_flag(args.get("booking")),
        reviewed=_flag(args.get("reviewed")), page=page,
    )


def back_to(conversation_id: str, anchor: str = "") -> Any:
    return redirect(url_for("conversations.conversation", conversation_id=conversation_id) + anchor)


@blueprint.get("/")
@needs("read_conversations")
def home() -> Any:
    return redirect(url_for("conversations.conversation_list"))


@blueprint.get("/conversations")
@needs("read_conversations")
def conversation_list() -> Any:
    clinic = console()
    filters = filters_from(request.args)
    rows, total = conversations.list_conversations(clinic.engine, filters, clinic.tz())
    for row in rows:
        row.preview = mask(row.preview, clinic.keep())
    args = {k: v for k, v in request.args.items() if k != "page"}
    page = render_template(
        "conversations.html", rows=rows, total=total, filters=filters, args=args,
        pages=max(1, -(-total // conversations.PAGE_SIZE)),
        stats=conversations.stats(clinic.engine, clinic.tz()), channels=conversations.CHANNELS,
    )
    audit.record(clinic.engine, g.member.username, "list_conversations", None, audit.filter_note(filters))
    return page


def show_transcript(conversation_id: str, revealed: bool) -> Any:
    clinic = console()
    engine = clinic.engine
    turns = conversations.transcript(engine, conversation_id, clinic.tz())
    if not turns:
        abort(404)
    if not revealed:
        for turn in turns:
            turn.text = mask(turn.text, clinic.keep())
    # a messaging conversation's number (or Messenger id): its id is only a hash of it
    kind = identity.kind_of(conversation_id) or ""
    contact = contact_of(engine, conversation_id)
    handoffs = queues.items(engine, "handoff", conversation_id=conversation_id)
    bookings = queues.items(engine, "booking", conversation_id=conversation_id)
    if not revealed:
        hide_contacts(handoffs, bookings, clinic.keep())
    return render_template(
        "transcript.html", conversation_id=conversation_id, turns=turns, revealed=revealed,
        channel=identity.channel_of(conversation_id)
        or conversations.conversation_channel(engine, conversation_id),
        contact=contact if revealed or not contact else CONTACT_MASK[kind],
        contact_label="Messenger id" if kind == "messenger" else "Phone",
        with_staff=conversations.handoff_active(engine, conversation_id),
        handoffs=handoffs, bookings=bookings, review=conversations.review_of(engine, conversation_id),
        intents=markable_intents(engine), low=conversations.LOW_CONFIDENCE,
        handoff_statuses=HANDOFF_STATUSES, booking_statuses=BOOKING_STATUSES,
    )


@blueprint.get("/conversations/<conversation:conversation_id>")
@needs("read_conversations")
def conversation(conversation_id: str) -> Any:
    page = show_transcript(conversation_id, revealed=False)
    audit.record(console().engine, g.member.username, "view_transcript", conversation_id)
    return page


@blueprint.post("/conversations/<conversation:conversation_id>/reveal")
@needs("reveal_contacts")
def reveal(conversation_id: str) -> Any:
    page = show_transcript(conversation_id, revealed=True)
    audit.record(console().engine, g.member.username, "reveal_contacts", conversation_id)
    return page


@blueprint.post("/conversations/<conversation:conversation_id>/reply")
@needs("reply")
def reply(conversation_id: str) -> Any:
    text = request.form.get("text", "").strip()
    if not text:
        flash("Type a reply first.", "error")
    else:
        outcome = live.send_reply(console().settings, conversation_id, text, g.member.display_name)
        flash(outcome.message, "ok" if outcome.ok else "error")
        if outcome.ok:
            audit.record(console().engine, g.member.username, "reply", conversation_id)
    return back_to(conversation_id, "#reply")


@blueprint.post("/conversations/<conversation:conversation_id>/hand-back")
@needs("reply")
def hand_back(conversation_id: str) -> Any:
    clinic = console()
    outcome = live.hand_back(clinic.settings, conversation_id, g.member.display_name)
    flash(outcome.message, "ok" if outcome.ok else "error")
    if outcome.ok:
        queues.close_open_tickets(clinic.engine, conversation_id, g.member.username, "handed back to the bot")
        audit.record(clinic.engine, g.member.username, "hand_back", conversation_id)
    return back_to(conversation_id)


@blueprint.post("/conversations/<conversation:conversation_id>/review")
@needs("review")
def review(conversation_id: str) -> Any:
    engine = console().engine
    conversations.set_reviewed(engine, conversation_id, g.member.username,
                               request.form.get("reviewed") == "yes")
    audit.record(engine, g.member.username, "review", conversation_id, request.form.get("reviewed", "no"))
    return back_to(conversation_id)


@blueprint.post("/conversations/<conversation:conversation_id>/forget")
@needs("forget")
def forget(conversation_id: str) -> Any:
    if request.form.get("confirm") != conversation_id:
        flash("To forget a conversation, type its id in the box to confirm.", "error")
        return back_to(conversation_id)
    # deleted under the conversation's lock (staff/live.py, clinic_assistant/clinic/forget.py)
    # and recorded in the audit log under a random id (the conversation's own id is
    # a keyed hash of a phone number for SMS)
    clinic = console()
    outcome = live.forget_everywhere(clinic.settings, clinic.engine, [conversation_id], g.member.username)
    if not outcome.ok:
        flash(outcome.message, "error")
        return back_to(conversation_id)
    flash(outcome.message, "ok")
    return redirect(url_for("conversations.conversation_list"))
