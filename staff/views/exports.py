"""Downloads: the marked messages as Rasa NLU training data, conversations as CSV or
JSON (each audited with its filters)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, g, request

from staff import audit, exports, improve
from staff.console import console
from staff.views.conversations import filters_from
from staff.roles import needs

blueprint = Blueprint("exports", __name__)


@blueprint.get("/exports/nlu.yml")
@needs("export")
def export_nlu() -> Response:
    engine = console().engine
    marked = improve.marked_messages(engine)
    body = exports.nlu_yaml(marked)
    audit.record(engine, g.member.username, "export", None, f"nlu, {len(marked)} marked messages")
    return Response(body, mimetype="text/yaml",
                    headers={"Content-Disposition": "attachment; filename=marked-messages.nlu.yml"})


@blueprint.get("/exports/conversations.<fmt>")
@needs("export")
def export_conversations(fmt: str) -> Response:
    if fmt not in ("csv", "json"):
        abort(404)
    clinic = console()
    filters = filters_from(request.args)
    note = audit.filter_note(filters, with_page=False)
    picked = exports.conversations_for_export(clinic.engine, filters, clinic.tz())
    records = exports.conversation_records(picked)
    audit.record(clinic.engine, g.member.username, "export", None,
                 f"conversations {fmt}, {len(picked)} exported" + (f"; {note}" if note else ""))
    body = exports.as_csv(records) if fmt == "csv" else exports.as_json(records)
    return Response(body, mimetype="text/csv" if fmt == "csv" else "application/json",
                    headers={"Content-Disposition": f"attachment; filename=conversations.{fmt}"})
