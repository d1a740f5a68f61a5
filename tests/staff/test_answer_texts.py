"""Answer texts improved in the console (issue #19, 3 and 4): a draft is previewed and
checked for what the bot must never state; approval by a second person, a clinician
for conditions, treatment, aftercare and safety; versions with diffs, restore, export;
and the Rasa server's renderer says the approved text within a second."""
from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from clinic_assistant.clinic import answer_texts
from clinic_assistant.clinic.db import audit_log, engine_for
from staff import accounts
from tests.staff.conftest import PASSWORD, csrf_token, login

AFTERCARE = "utter_faq_aftercare"  # clinical: a clinician approves
PARKING = "utter_faq_parking"  # the clinic: any second person
EMERGENCY = "utter_red_flag_emergency"


def sign_in_as(client: Any, clinic_db: str, username: str, role: str) -> None:
    if accounts.authenticate(engine_for(clinic_db), username, PASSWORD).member is None:
        accounts.create_user(engine_for(clinic_db), username, PASSWORD, username.title(), role=role)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/login").get_data(as_text=True))})
    assert login(client, username).status_code == 302


def send(client: Any, response: str, text: str, reason: str = "clearer", step: str = "propose") -> Any:
    page = client.get(f"/answers/{response}").get_data(as_text=True)
    seen = re.search(r'name="based_on" value="(\d+)"', page)
    assert seen, "the form says which version it was written on"
    return client.post(f"/answers/{response}", data={"csrf_token": csrf_token(page), "text": text, "reason": reason,
                                                     "step": step, "based_on": seen.group(1)})


def press(client: Any, response: str, version_id: int, verb: str) -> str:
    token = csrf_token(client.get(f"/answers/{response}").get_data(as_text=True))
    return client.post(f"/answers/{response}/{version_id}/{verb}", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)


def test_every_answer_is_listed_by_kind_with_its_text(signed_in: Any) -> None:
    page = signed_in.get("/answers").get_data(as_text=True)
    for title in answer_texts.KIND_TITLES.values():
        assert title in page
    assert "Aftercare" in page and "Parking" in page and "edited in domain/ only" in page  # other_language
    one = signed_in.get(f"/answers/{AFTERCARE}").get_data(as_text=True)
    assert "changes are approved by a clinician" in one
    assert "test_faq.yml" in one  # the test stories that expect it
    assert "Held-out messages that expect it:" in one and " in test.yml" in one


@pytest.mark.parametrize("text, problem", [
    ("A session is $85.", "a price or dollar amount"),
    ("Most plans cover it: dry needling is covered by your insurance.", "a coverage decision"),
    ("We open at 8 a.m. on weekdays.", "a time of day written out"),
    ("Call us at 780-555-0142 to ask.", "a phone number written out"),
    ("Ask {front_desk} about parking.", "the bot cannot fill {front_desk}"),
    ("Ask about parking {clinic_phone", "is not closed"),
])
def test_a_draft_with_what_the_bot_must_never_state_is_refused(signed_in: Any, clinic_db: str, text: str,
                                                               problem: str) -> None:
    answer = send(signed_in, PARKING, text)
    assert answer.status_code == 422 and problem in answer.get_data(as_text=True)
    assert text.replace("'", "&#39;") in answer.get_data(as_text=True)  # kept in the form
    assert answer_texts.versions(engine_for(clinic_db)) == []


def test_a_safety_reply_keeps_its_emergency_wording(signed_in: Any) -> None:
    answer = send(signed_in, EMERGENCY, "This might be serious. Please see a doctor.")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "a safety reply must keep its emergency wording" in page
    assert "“911”" in page


def test_preview_shows_the_text_as_patients_see_it_without_saving(signed_in: Any, clinic_db: str, settings: Any) -> None:
    answer = send(signed_in, PARKING, "There is free parking behind the building; call {clinic_phone} if unsure.",
                  step="preview")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "The checks found nothing to change." in page
    assert "call (780) 555-0100 if unsure" in page  # the clinic's phone, filled in
    assert answer_texts.versions(engine_for(clinic_db)) == []


def test_clinical_answers_need_a_clinician_and_never_the_author(client: Any, clinic_db: str, settings: Any) -> None:
    sign_in_as(client, clinic_db, "fran", "front_desk")
    text = "After your session, drink water and keep moving gently; ask us if anything worries you."
    assert send(client, AFTERCARE, text, "simpler words").status_code == 302
    draft = answer_texts.versions(engine_for(clinic_db), AFTERCARE)[0]
    assert "A clinician approves or rejects this." in client.get(f"/answers/{AFTERCARE}").get_data(as_text=True)
    assert "a change needs a second person" in press(client, AFTERCARE, draft.id, "approve")
    sign_in_as(client, clinic_db, "ada", "admin")
    assert "is approved or rejected by a clinician" in press(client, AFTERCARE, draft.id, "approve")
    sign_in_as(client, clinic_db, "cleo", "clinician")
    assert "Approved: the bot says the new text now." in press(client, AFTERCARE, draft.id, "approve")
    assert answer_texts.live_texts(engine_for(clinic_db)) == {AFTERCARE: text}
    with engine_for(clinic_db).connect() as connection:
        logged = connection.execute(sa.select(audit_log.c.username, audit_log.c.action).where(
            audit_log.c.action.in_(["propose_answer", "approve_answer"])).order_by(audit_log.c.id)).all()
    assert [tuple(row) for row in logged] == [("fran", "propose_answer"), ("cleo", "approve_answer")]


def test_the_bots_renderer_says_the_approved_text_within_a_second(signed_in: Any, clinic_db: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from clinic_assistant.rasa.nlg import LiveResponsesNLG
    from clinic_assistant.settings import PROJECT_ROOT

    monkeypatch.setenv("DATABASE_URL", clinic_db)
    nlg = LiveResponsesNLG(domain=Domain.load(str(PROJECT_ROOT / "domain")))
    tracker = DialogueStateTracker("c", [])

    def said() -> str:
        return asyncio.run(nlg.generate(PARKING, tracker, "rest"))["text"]

    before = said()
    engine = engine_for(clinic_db)
    version = answer_texts.propose(engine, PARKING, "Parking is behind the building. Questions: {clinic_phone}.",
                                   "new lot", "fran")
    answer_texts.decide(engine, version, "bo", "front_desk", approve=True)  # the clinic: any second person
    time.sleep(answer_texts.CHECK_EVERY_SECONDS + 0.1)
    assert said() == "Parking is behind the building. Questions: (780) 555-0100."
    answer_texts.restore(engine, PARKING, 0, "bo", "front_desk")
    time.sleep(answer_texts.CHECK_EVERY_SECONDS + 0.1)
    assert said() == before


def test_versions_have_diffs_can_be_restored_and_exported(signed_in: Any, clinic_db: str) -> None:
    engine = engine_for(clinic_db)
    one = answer_texts.propose(engine, PARKING, "Street parking is free after six.", "first", "fran")
    # "after six" is not a clock time; this passes the checks
    answer_texts.decide(engine, one, "anna", "admin", approve=True)
    two = answer_texts.propose(engine, PARKING, "Parking is behind the building.", "second", "fran")
    answer_texts.decide(engine, two, "anna", "admin", approve=True)
    page = signed_in.get(f"/answers/{PARKING}").get_data(as_text=True)
    assert "-Street parking is free after six." in page and "+Parking is behind the building." in page
    assert f"Version {two}: approved (live)" in page
    restored = press(signed_in, PARKING, one, "restore")
    assert f"Restored version {one}" in restored
    assert answer_texts.live_texts(engine)[PARKING] == "Street parking is free after six."
    exported = signed_in.get("/exports/answers.yml")
    assert exported.status_code == 200
    body = yaml.safe_load(exported.get_data(as_text=True))
    assert body["responses"][PARKING][0]["text"] == "Street parking is free after six."
    back = press(signed_in, PARKING, 0, "restore")
    assert "Restored the text of domain/" in back and PARKING not in answer_texts.live_texts(engine)


@pytest.mark.parametrize("text", ["Call {clinic_phone!r}.", "Call {clinic_phone:>99999}.", "Call {{clinic_phone}}.",
                                  "Call {clinic_name.x}.", "Call {clinic_name[0]}."])
def test_a_variable_written_any_other_way_is_refused_and_previews_safely(signed_in: Any, text: str) -> None:
    answer = send(signed_in, PARKING, text, step="preview")
    assert answer.status_code == 422
    assert "variables are written exactly like {clinic_phone}" in answer.get_data(as_text=True)


def test_every_reply_that_sends_patients_to_emergency_care_is_a_safety_reply() -> None:
    shipped = answer_texts.shipped_responses()
    emergency = {name for name, variants in shipped.items() if "911" in str(variants[0].get("text"))}
    assert {"utter_red_flag_emergency", "utter_handoff_open"} <= emergency
    assert all(answer_texts.kind_of(name) == answer_texts.SAFETY for name in emergency)


def test_a_draft_written_on_an_older_text_is_refused(signed_in: Any, clinic_db: str) -> None:
    page = signed_in.get(f"/answers/{PARKING}").get_data(as_text=True)
    engine = engine_for(clinic_db)
    other = answer_texts.propose(engine, PARKING, "Parking is behind the building.", "new lot", "fran")
    answer_texts.decide(engine, other, "bo", "front_desk", approve=True)
    stale = signed_in.post(f"/answers/{PARKING}", data={"csrf_token": csrf_token(page), "text": "Street parking.",
                                                        "reason": "x", "step": "propose", "based_on": "0"})
    body = stale.get_data(as_text=True)
    assert stale.status_code == 422 and "this answer changed while you were writing" in body
    assert "Street parking." in body  # the draft is kept, to write again on the current text
