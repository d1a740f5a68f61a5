"""The handoff and booking-request queues: their items (free text masked until an
audited reveal) and status changes."""
from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from clinic_assistant.clinic.db import BOOKING_STATUSES, HANDOFF_STATUSES
from staff import audit, queues
from staff.console import console, local_path
from staff.privacy import hide_contacts
from staff.roles import needs

blueprint = Blueprint("queues", __name__)


def queue_status(value: Optional[str]) -> str:
    known = ("open", "all", *HANDOFF_STATUSES, *BOOKING_STATUSES)
    return value if value in known else "open"


def show_queues(status: str, revealed: Optional[tuple[str, int]] = None) -> str:
    clinic = console()
    handoffs = queues.items(clinic.engine, "handoff", status)
    bookings = queues.items(clinic.engine, "booking", status)
    hide_contacts(handoffs, bookings, clinic.keep(), revealed)
    return render_template("queues.html", handoffs=handoffs, bookings=bookings, status=status,
                           handoff_statuses=HANDOFF_STATUSES, booking_statuses=BOOKING_STATUSES,
                           back=url_for("queues.queue_page", status=status), can_reveal=True)


@blueprint.get("/queues")
@needs("queues")
def queue_page() -> Any:
    status = queue_status(request.args.get("status"))
    page = show_queues(status)
    audit.record(console().engine, g.member.username, "view_queues", None, f"status={status}")
    return page


@blueprint.post("/queues/<kind>/<int:item_id>/reveal")
@needs("reveal_contacts")
def reveal_queue_item(kind: str, item_id: int) -> Any:
    item = queues.item(console().engine, kind, item_id)
    if item is None:
        abort(404)
    page = show_queues(queue_status(request.form.get("status")), revealed=(kind, item_id))
    audit.record(console().engine, g.member.username, "reveal_queue_item", item["conversation_id"],
                 f"{kind} {item_id}")
    return page


@blueprint.post("/queues/<kind>/<int:item_id>/status")
@needs("queues")
def change_status(kind: str, item_id: int) -> Any:
    engine = console().engine
    try:
        queues.change_status(engine, kind, item_id, request.form.get("status", ""),
                             request.form.get("note", ""), g.member.username)
    except queues.QueueError as error:
        return render_template("error.html", status=400, reason=str(error)), 400
    audit.record(engine, g.member.username, "status_change", None,
                 f"{kind} {item_id} -> {request.form.get('status')}")
    flash("Status changed.", "ok")
    return redirect(local_path(request.form.get("back", ""), url_for("queues.queue_page")))
