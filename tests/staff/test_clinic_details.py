"""The clinic's details kept current in the console (issue #19, 2 and 4): proposed by
one member of staff, approved by another, checked field by field, versioned with who,
when, why and a diff, restorable in one step, and what the bot states within a second."""
from __future__ import annotations

import re
import time
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from clinic_assistant.clinic import details
from clinic_assistant.clinic.db import audit_log, engine_for
from clinic_assistant.clinic.profile import ClinicProfile
from clinic_assistant.settings import PROJECT_ROOT
from staff import accounts
from tests.staff.conftest import PASSWORD, csrf_token, login

FILE = ClinicProfile.load(PROJECT_ROOT / "clinic" / "profile.yml")


def form(**changes: str) -> dict[str, str]:
    """The proposal form as it comes filled with the file's details, with some changed."""
    fields = {key: str(value) for key, value in details.form_fields(FILE).items() if key != "closures"}
    return {**fields, "reason": "new holiday hours", **changes}


def propose(client: Any, **changes: str) -> Any:
    page = client.get("/clinic-details").get_data(as_text=True)
    seen = re.search(r'name="based_on" value="(\d+)"', page)
    assert seen, "the form says which version it was made from"
    return client.post("/clinic-details", data={**form(**changes), "csrf_token": csrf_token(page),
                                                "based_on": seen.group(1)})


def decide(client: Any, version_id: int, verb: str = "approve") -> Any:
    token = csrf_token(client.get("/clinic-details").get_data(as_text=True))
    return client.post(f"/clinic-details/{version_id}/{verb}", data={"csrf_token": token}, follow_redirects=True)


def live(settings: Any) -> ClinicProfile:
    time.sleep(details.CHECK_EVERY_SECONDS + 0.1)  # what a process that looked a second ago sees now
    return details.live_profile(settings)


def other_member(client: Any, clinic_db: str, username: str = "cleo", role: str = "clinician") -> None:
    accounts.create_user(engine_for(clinic_db), username, PASSWORD, username.title(), role=role)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/conversations").get_data(as_text=True))})
    assert login(client, username).status_code == 302


def test_a_closure_proposed_by_one_and_approved_by_another_is_what_the_bot_says(
        signed_in: Any, clinic_db: str, settings: Any) -> None:
    soon = details.clinic_today(FILE) + timedelta(days=2)
    sent = propose(signed_in, new_start=soon.isoformat(), new_end=(soon + timedelta(days=2)).isoformat(),
                   new_note="holidays")
    assert sent.status_code == 302
    proposal = details.versions(engine_for(clinic_db), details.PROPOSED)[0]
    page = signed_in.get("/clinic-details").get_data(as_text=True)
    assert "Another member of staff approves or rejects this." in page
    assert "+  note: holidays" in page  # the diff
    # the author cannot approve it; nothing is live
    refused = decide(signed_in, proposal.id).get_data(as_text=True)
    assert "a change needs a second person" in refused
    assert live(settings).closures == ()

    other_member(signed_in, clinic_db)
    approved = decide(signed_in, proposal.id).get_data(as_text=True)
    assert "Approved: the bot uses these details now." in approved
    profile = live(settings)
    assert [closure.start for closure in profile.closures] == [soon]
    assert profile.hours_on(soon) is None
    # the first-contact line's notice: a closure starting within a few days
    assert profile.as_slots()["clinic_notice"] == f" Please note: we're {profile.closures[0].text()}."
    assert "Patients are told now" in signed_in.get("/clinic-details").get_data(as_text=True)
    with engine_for(clinic_db).connect() as connection:
        logged = connection.execute(sa.select(audit_log.c.username, audit_log.c.action, audit_log.c.detail).where(
            audit_log.c.action.in_(["propose_details", "approve_details"])).order_by(audit_log.c.id)).all()
    assert [(row[0], row[1]) for row in logged] == [("anna", "propose_details"), ("cleo", "approve_details")]
    assert "new holiday hours" in logged[0][2] and "by anna" in logged[1][2]


def test_each_wrong_field_is_named_with_how_to_write_it_and_nothing_is_lost(signed_in: Any, clinic_db: str) -> None:
    yesterday = details.clinic_today(FILE) - timedelta(days=1)
    answer = propose(signed_in, phone="780 555 01", email="frontdesk@", booking_link="http://example.com/book",
                     hours_monday="18:00-08:00", hours_tuesday="8 to 6", address="100 Example Street",
                     new_start=yesterday.isoformat(), reason="")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for text in ("a phone number with its area code, like (780) 555-0100", "an email address, like",
                 "a web address starting with https://", "opening and closing times like 08:00-18:00",
                 "this closure would already be over"):
        assert text in page, text
    assert page.count('aria-invalid="true"') >= 5
    # what was typed is still in the form
    assert 'value="780 555 01"' in page and 'value="8 to 6"' in page and f'value="{yesterday.isoformat()}"' in page
    assert details.versions(engine_for(clinic_db)) == []
    # a reason is needed too
    no_reason = propose(signed_in, reason=" ")
    assert no_reason.status_code == 422 and "say in a few words why" in no_reason.get_data(as_text=True)


def test_a_closure_ending_before_it_starts_or_closing_early_over_days_is_refused() -> None:
    today = date(2026, 12, 2)
    base = {**details.form_fields(FILE)}
    for closure, text in (({"start": "2026-12-26", "end": "2026-12-24", "new": True}, "ends before it starts"),
                          ({"start": "2026-12-24", "end": "2026-12-26", "closes_at": "12:00", "new": True},
                           "closing early is for one day"),
                          ({"start": "24/12/2026", "new": True}, "dates are YYYY-MM-DD")):
        try:
            details.check_details({**base, "closures": [closure]}, today)
        except details.DetailsError as error:
            assert text in error.problems["closure_0"]
        else:
            raise AssertionError(f"accepted {closure}")


def test_a_proposal_overtaken_by_another_change_is_not_approved(signed_in: Any, clinic_db: str, settings: Any) -> None:
    engine = engine_for(clinic_db)
    first = details.propose(engine, details.check_details(form(phone="(780) 555-0111"), date.today()), "new number",
                            "anna")
    second = details.propose(engine, details.check_details(form(email="desk@example.org"), date.today()),
                             "new email", "anna")
    other_member(signed_in, clinic_db)
    assert "Approved" in decide(signed_in, first).get_data(as_text=True)
    stale = decide(signed_in, second).get_data(as_text=True)
    assert "the clinic details changed after this was proposed" in stale
    assert live(settings).phone == "(780) 555-0111"  # not undone by the older proposal
    assert "Rejected" in decide(signed_in, second, "reject").get_data(as_text=True)
    assert live(settings).email == FILE.email


def test_every_version_is_kept_with_its_diff_and_any_can_be_restored_in_one_step(
        signed_in: Any, clinic_db: str, settings: Any) -> None:
    engine = engine_for(clinic_db)
    one = details.propose(engine, details.check_details(form(phone="(780) 555-0111"), date.today()), "new line", "bo")
    details.decide(engine, one, "anna", approve=True)
    two = details.propose(engine, details.check_details(form(phone="(780) 555-0122", hours_saturday="09:00-12:00"),
                                                        date.today()), "Saturday mornings", "bo")
    details.decide(engine, two, "anna", approve=True)
    assert live(settings).phone == "(780) 555-0122"
    page = signed_in.get("/clinic-details").get_data(as_text=True)
    assert "-phone: (780) 555-0111" in page and "+phone: (780) 555-0122" in page and "+  saturday: 09:00-12:00" in page
    assert "Why: Saturday mornings" in page and f"Version {two}: approved (live)" in page

    token = csrf_token(page)
    restored = signed_in.post(f"/clinic-details/{one}/restore", data={"csrf_token": token}, follow_redirects=True)
    assert f"Restored version {one}" in restored.get_data(as_text=True)
    profile = live(settings)
    assert profile.phone == "(780) 555-0111" and "saturday" not in profile.hours
    back_to_file = signed_in.post("/clinic-details/0/restore", data={"csrf_token": token}, follow_redirects=True)
    assert "Restored the profile file" in back_to_file.get_data(as_text=True)
    assert live(settings).phone == FILE.phone
    with engine.connect() as connection:
        logged = connection.execute(sa.select(audit_log.c.detail).where(audit_log.c.action == "restore_details")
                                    ).scalars().all()
    assert len(logged) == 2 and f"version {one}" in logged[0]
    # a rejected or unknown version cannot be restored
    missing = signed_in.post("/clinic-details/999/restore", data={"csrf_token": token}, follow_redirects=True)
    assert "only a version that was approved can be restored" in missing.get_data(as_text=True)


def test_a_form_made_before_another_change_went_live_is_refused_not_merged(
        signed_in: Any, clinic_db: str, settings: Any) -> None:
    engine = engine_for(clinic_db)
    page = signed_in.get("/clinic-details").get_data(as_text=True)  # opened now, on the file's details
    # meanwhile a new phone number is proposed and approved by two others
    other = details.propose(engine, details.check_details(form(phone="(780) 555-0111"), date.today()), "new", "bo")
    details.decide(engine, other, "cleo", approve=True)
    stale = signed_in.post("/clinic-details", data={**form(hours_saturday="09:00-12:00"), "based_on": "0",
                                                    "csrf_token": csrf_token(page)})
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "the clinic details changed while you were editing" in body
    assert 'value="(780) 555-0111"' in body  # the form now shows the current details
    assert [v.status for v in details.versions(engine)] == ["approved"]
    missing = signed_in.post("/clinic-details", data={**form(), "csrf_token": csrf_token(page)})
    assert missing.status_code == 400 and "reload the page" in missing.get_data(as_text=True)
    assert signed_in.post(f"/clinic-details/{2**40}/approve", data={"csrf_token": csrf_token(page)}).status_code == 404


def test_closures_that_are_over_are_dropped_and_a_typo_year_is_refused() -> None:
    today = date(2026, 12, 2)
    base = details.form_fields(FILE)
    kept = details.check_details({**base, "closures": [{"start": "2026-11-11"}, {"start": "2026-12-24"}]}, today)
    assert kept["closures"] == [{"start": "2026-12-24", "end": "2026-12-24"}]
    for closure in ({"start": "2062-12-24", "new": True}, {"start": "2026-12-24", "end": "2036-12-24", "new": True}):
        try:
            details.check_details({**base, "closures": [closure]}, today)
        except details.DetailsError as error:
            assert "check the year" in error.problems["closure_0"]
        else:
            raise AssertionError(f"accepted {closure}")
    try:
        details.check_details({**base, "closures": [{"start": "2027-01-01"}] * (details.MAX_CLOSURES + 1)}, today)
    except details.DetailsError as error:
        assert f"at most {details.MAX_CLOSURES} closures" in error.problems["closures"]
    else:
        raise AssertionError("too many closures accepted")


def test_two_approvals_at_the_same_moment_cannot_both_go_live(clinic_db: str) -> None:
    import threading

    engine = engine_for(clinic_db)
    drafts = [details.propose(engine, details.check_details(form(phone=phone), date.today()), "race", "bo")
              for phone in ("(780) 555-0111", "(780) 555-0122")]
    outcomes: list[str] = []

    def approve(version_id: int) -> None:
        try:
            details.decide(engine, version_id, "cleo", approve=True)
            outcomes.append("approved")
        except details.DetailsError as error:
            outcomes.append(error.problems["proposal"])

    threads = [threading.Thread(target=approve, args=(version_id,)) for version_id in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "approved" and "changed after this was proposed" in sorted(outcomes)[1], outcomes
