"""The clinic's details (hours, closures, phone, email, address, booking link): the live
ones, changes waiting for a second person, proposing a change, and every version with
its diff, restorable in one step (clinic_assistant/clinic/details.py)."""
from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from clinic_assistant.clinic import details
from clinic_assistant.clinic.profile import DAYS, current_profile
from staff import audit
from staff.console import console
from staff.roles import needs

blueprint = Blueprint("details", __name__)
READ_AT_MOST = details.MAX_CLOSURES + 1  # one more, so that too many is refused, not cut


def _form_values(form: Any) -> dict[str, Any]:
    """The submitted form as check_details reads it (kept closures, then a new one)."""
    values: dict[str, Any] = {key: form.get(key, "")[:300] for key in ("phone", "email", "address", "booking_link")}
    for day in DAYS:
        values[f"hours_{day}"] = form.get(f"hours_{day}", "")[:20]
    closures = []
    for index in range(READ_AT_MOST):
        if f"closure_start_{index}" not in form:
            break
        if form.get(f"closure_keep_{index}") == "yes":
            closures.append({"start": form.get(f"closure_start_{index}", "")[:10],
                             "end": form.get(f"closure_end_{index}", "")[:10],
                             "closes_at": form.get(f"closure_closes_at_{index}", "")[:5],
                             "note": form.get(f"closure_note_{index}", "")[:80]})
    if form.get("new_start", "").strip():
        closures.append({"start": form.get("new_start", "")[:10], "end": form.get("new_end", "")[:10],
                         "closes_at": form.get("new_closes_at", "")[:5], "note": form.get("new_note", "")[:80],
                         "new": True})
    values["closures"] = closures
    return values


def _page(fields: Optional[dict[str, Any]] = None, problems: Optional[dict[str, str]] = None,
          reason: str = "", status: int = 200) -> Any:
    clinic = console()
    base = current_profile(clinic.settings.clinic.profile)
    everything = details.versions(clinic.engine)
    live_version = details.live_version(clinic.engine)
    # from the database, not the bot's once-a-second view: right after an approval the
    # page shows what was approved
    live = details.apply(base, live_version.details if live_version else None)
    live_fields = details.form_fields(live)

    def shown(version: details.Version) -> dict[str, Any]:
        return details.apply(base, version.details).as_dict()

    waiting = [(version, details.diff(live.as_dict(), shown(version)))
               for version in everything if version.status == details.PROPOSED]
    history = []
    approved = [version for version in reversed(everything) if version.status == details.APPROVED]
    before = base.as_dict()
    changes = {}
    for version in approved:
        after = shown(version)
        changes[version.id] = details.diff(before, after)
        before = after
    for version in everything:
        if version.status == details.REJECTED:
            changes[version.id] = details.diff(live.as_dict(), shown(version))
        if version.status != details.PROPOSED:
            history.append((version, changes.get(version.id, [])))
    return render_template(
        "clinic_details.html", live=live, live_version=live_version, fields=fields or live_fields,
        problems=problems or {}, reason=reason, waiting=waiting, history=history, days=DAYS,
        seen=live_version.id if live_version else 0,
        notice=live.closure_notice(details.now_in(live)),
    ), status


@blueprint.get("/clinic-details")
@needs("propose_changes")
def details_page() -> Any:
    audit.record(console().engine, g.member.username, "view_clinic_details")
    return _page()


@blueprint.post("/clinic-details")
@needs("propose_changes")
def propose() -> Any:
    clinic = console()
    values = _form_values(request.form)
    reason = request.form.get("reason", "")[:500]
    try:
        seen: Optional[int] = int(request.form.get("based_on", "")) or None
    except ValueError:
        abort(400, "This form is missing the version it was made from; reload the page and try again.")
    try:
        checked = details.check_details(values, details.clinic_today(clinic.profile()))
        version_id = details.propose(clinic.engine, checked, reason, g.member.username, seen=seen)
    except details.DetailsError as error:
        if "form" in error.problems:  # made from older details: start again from the current ones
            flash(f"Nothing was proposed: {error.problems['form']}.", "error")
            return _page(reason=reason, status=409)
        flash("Nothing was proposed yet: please correct the fields marked below.", "error")
        shown = {**values, "closures": [c for c in values["closures"] if not c.get("new")]}
        new: dict[str, Any] = next((c for c in values["closures"] if c.get("new")), {})
        return _page({**shown, **{f"new_{k}": v for k, v in new.items() if k != "new"}}, error.problems, reason,
                     status=422)
    audit.record(clinic.engine, g.member.username, "propose_details", None, f"version {version_id}: {reason[:200]}")
    flash("Proposed. It goes live when another member of staff approves it.", "ok")
    return redirect(url_for("details.details_page") + f"#proposal-{version_id}")


def _decide(version_id: int, approve: bool) -> Any:
    clinic = console()
    try:
        version = details.decide(clinic.engine, version_id, g.member.username, approve)
    except details.DetailsError as error:
        flash(f"Nothing was changed: {error.problems['proposal']}.", "error")
        return redirect(url_for("details.details_page"))
    audit.record(clinic.engine, g.member.username, "approve_details" if approve else "reject_details", None,
                 f"version {version.id} by {version.proposed_by}")
    flash("Approved: the bot uses these details now." if approve else "Rejected; nothing changed.", "ok")
    return redirect(url_for("details.details_page"))


@blueprint.post(f"/clinic-details/<int(max={details.MAX_ID}):version_id>/approve")
@needs("approve_details")
def approve(version_id: int) -> Any:
    return _decide(version_id, approve=True)


@blueprint.post(f"/clinic-details/<int(max={details.MAX_ID}):version_id>/reject")
@needs("approve_details")
def reject(version_id: int) -> Any:
    return _decide(version_id, approve=False)


@blueprint.post(f"/clinic-details/<int(max={details.MAX_ID}):version_id>/restore")
@needs("approve_details")
def restore(version_id: int) -> Any:
    clinic = console()
    try:
        new_id = details.restore(clinic.engine, version_id, g.member.username, request.form.get("reason", "")[:500])
    except details.DetailsError as error:
        flash(f"Nothing was changed: {error.problems['version']}.", "error")
        return redirect(url_for("details.details_page"))
    what = "the profile file's details" if version_id == 0 else f"version {version_id}"
    audit.record(clinic.engine, g.member.username, "restore_details", None, f"{what} as version {new_id}")
    flash(f"Restored {what}: the bot uses them now (version {new_id}).", "ok")
    return redirect(url_for("details.details_page"))
