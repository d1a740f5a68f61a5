"""Teaching the bot from "Improve the bot" (issue #19, 5), in the console: marked
messages grouped into a new topic or added as new wordings, checked before they are
saved (nothing typed is lost when a check fails), approved by a clinician who did not
write them, audited. The training itself: tests/training/."""
from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from clinic_assistant.clinic.db import audit_log, engine_for, message_marks
from clinic_assistant.training import additions as teach
from clinic_assistant.training.worker import Run
from staff import accounts
from tests.staff.conftest import PASSWORD, csrf_token, login

ANSWER = "Yes. Our entrance has no steps and the treatment rooms are on the ground floor. Call {clinic_phone} if you need help."
TYPED = ("is the clinic wheelchair accessible\ncan I get in with a wheelchair\ndo you have a ramp\n"
         "is there an elevator\ncan my mom come in with her walker")


@pytest.fixture
def staff(clinic_db: str) -> Any:
    engine = engine_for(clinic_db)
    accounts.create_user(engine, "frida", PASSWORD, "Frida", role="front_desk")
    accounts.create_user(engine, "fred", PASSWORD, "Fred", role="front_desk")
    accounts.create_user(engine, "cleo", PASSWORD, "Cleo", role="clinician")
    return engine


def mark_all_new(client: Any, conversation_id: str) -> list[int]:
    """Marks every patient message of a conversation as a new question, as staff do in
    the transcript; returns the marks' ids."""
    page = client.get(f"/conversations/{conversation_id}").get_data(as_text=True)
    for event_id in re.findall(r'name="event_id" value="(\d+)"', page):
        answer = client.post(f"/conversations/{conversation_id}/mark",
                             data={"csrf_token": csrf_token(page), "event_id": event_id, "intent": "new"})
        assert answer.status_code == 302
    return marks_of(client, conversation_id)


def marks_of(client: Any, conversation_id: str) -> list[int]:
    engine = client.application.extensions["clinic_console"].engine
    with engine.connect() as connection:
        return list(connection.execute(sa.select(message_marks.c.id).where(
            message_marks.c.conversation_id == conversation_id).order_by(message_marks.c.id)).scalars())


def propose(client: Any, path: str, **fields: Any) -> Any:
    token = csrf_token(client.get("/improve").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "reason": "patients keep asking", **fields})


def test_front_desk_proposes_a_topic_and_a_clinician_approves_it(client: Any, staff: Any) -> None:
    assert login(client, "frida").status_code == 302
    marked = mark_all_new(client, "conv-faq")
    answer = propose(client, "/improve/topics", title="Wheelchair access", answer_text=ANSWER,
                     mark_id=[str(i) for i in marked], typed=TYPED)
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Proposed as new topic" in page and "new topic “Wheelchair access”" in page
    assert "What is dry needling?" in page and "do you have a ramp" in page
    assert "A clinician approves or rejects this." in page and "Approve 1" not in page
    assert "in 1" in page  # the marked message shows the proposal it went into
    (topic,) = teach.additions(staff)
    assert (topic.intent, topic.status, topic.proposed_by) == ("faq_wheelchair_access", "proposed", "frida")
    assert topic.examples[0] == "What is dry needling?" and len(topic.examples) == 6

    client.post("/logout", data={"csrf_token": csrf_token(client.get("/improve").get_data(as_text=True))})
    assert login(client, "fred").status_code == 302  # another front desk member may not approve
    token = csrf_token(client.get("/improve").get_data(as_text=True))
    assert client.post(f"/improve/additions/{topic.id}/approve", data={"csrf_token": token}).status_code == 403

    client.post("/logout", data={"csrf_token": token})
    assert login(client, "cleo").status_code == 302
    token = csrf_token(client.get("/improve").get_data(as_text=True))
    assert "Approve 1" in client.get("/improve").get_data(as_text=True)
    answer = client.post(f"/improve/additions/{topic.id}/approve", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/improve/training")
    assert teach.additions(staff)[0].status == "approved" and teach.additions(staff)[0].decided_by == "cleo"
    # the marking form now offers the new topic as a right answer
    assert 'value="faq_wheelchair_access"' in client.get("/conversations/conv-faq").get_data(as_text=True)
    with staff.connect() as connection:
        logged = connection.execute(sa.select(audit_log.c.username, audit_log.c.action, audit_log.c.detail)
                                    .where(audit_log.c.action.in_(("propose_topic", "approve_addition")))).all()
    assert sorted(logged) == [("cleo", "approve_addition", "addition 1"), ("frida", "propose_topic", "addition 1")]


def test_a_clinician_cannot_approve_their_own_proposal(client: Any, staff: Any) -> None:
    assert login(client, "cleo").status_code == 302
    assert propose(client, "/improve/topics", title="Wheelchair access", answer_text=ANSWER,
                   typed=TYPED).status_code == 302
    token = csrf_token(client.get("/improve").get_data(as_text=True))
    answer = client.post("/improve/additions/1/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "a change needs a second person" in answer.get_data(as_text=True)
    assert teach.additions(staff)[0].status == "proposed"


def test_a_proposal_with_mistakes_says_what_to_change_and_keeps_what_was_typed(client: Any, staff: Any) -> None:
    assert login(client, "frida").status_code == 302
    marked = mark_all_new(client, "conv-handoff") + mark_all_new(client, "conv-urgent")
    answer = propose(client, "/improve/topics", title="Wheelchair access",
                     answer_text="Yes, and a visit is $80, covered by your insurance.",
                     mark_id=[str(i) for i in marked], typed=TYPED)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "looks like a price or dollar amount" in page
    assert "a coverage decision" in page
    assert "contains contact details" in page and "780-555-0123" not in page  # masked even here
    assert "reads as a red flag" in page
    # nothing lost: the name, the answer, the typed wordings and the chosen messages
    assert 'value="Wheelchair access"' in page and "a visit is $80" in page and "do you have a ramp" in page
    assert all(re.search(rf'value="{i}"[^>]*checked', page) for i in marked)
    assert teach.additions(staff) == []


@pytest.mark.parametrize("fields, problem", [
    ({"title": "Parking", "typed": TYPED}, "there is already an answer named"),
    ({"title": "Wheelchair access", "typed": "is there a ramp"}, "at least 5 different example messages"),
    ({"title": "", "typed": TYPED}, "give the topic a name"),
])
def test_topic_names_and_examples_are_checked(client: Any, staff: Any, fields: dict[str, str], problem: str) -> None:
    assert login(client, "frida").status_code == 302
    answer = propose(client, "/improve/topics", answer_text=ANSWER, **fields)
    assert answer.status_code == 422 and problem in answer.get_data(as_text=True)


def test_new_wordings_of_an_answer_the_bot_has(client: Any, staff: Any) -> None:
    assert login(client, "frida").status_code == 302
    answer = propose(client, "/improve/wordings", intent="faq_parking", typed="where do I leave my truck\nany parking")
    assert answer.status_code == 302
    (wordings,) = teach.additions(staff)
    assert (wordings.kind, wordings.intent, wordings.examples) == (
        "wordings", "faq_parking", ("where do I leave my truck", "any parking"))
    refused = propose(client, "/improve/wordings", intent="faq_no_such_answer", typed="hello there")
    assert refused.status_code == 422 and "choose the answer these messages should get" in refused.get_data(as_text=True)


def test_the_training_page_shows_each_step_and_refreshes_while_a_run_is_under_way(client: Any, staff: Any) -> None:
    assert login(client, "frida").status_code == 302
    assert "No training yet." in client.get("/improve/training").get_data(as_text=True)
    run = Run.start(staff, [], "f" * 64)
    run.step("training", "training a model on the repository's data and the additions")
    page = client.get("/improve/training").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and "training a model on the repository" in page
    run.end("refused", "refused: the new model answers the frozen test set worse than the bot does now")
    page = client.get("/improve/training").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    assert 'data-status="refused"' in page and "answers the frozen test set worse than the bot does now" in page


def test_a_topic_the_bot_has_learned_is_listed_with_the_answers(client: Any, staff: Any) -> None:
    from clinic_assistant.clinic.db import training_additions

    assert login(client, "frida").status_code == 302
    assert propose(client, "/improve/topics", title="Wheelchair access", answer_text=ANSWER, typed=TYPED).status_code == 302
    assert "Wheelchair access" not in client.get("/answers").get_data(as_text=True)  # not learned yet
    with staff.begin() as connection:
        connection.execute(training_additions.update().values(status="live"))
    listed = client.get("/answers").get_data(as_text=True)
    assert "Wheelchair access" in listed and "/answers/utter_faq_wheelchair_access" in listed
    page = client.get("/answers/utter_faq_wheelchair_access")
    assert page.status_code == 200 and "changes are approved by a clinician" in page.get_data(as_text=True)


def declined_conversation(database_url: str) -> None:
    """A patient's conversation of today whose questions the bot declined."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    from clinic_assistant.rasa.tracker_store import UrlSQLTrackerStore
    from clinic_assistant.settings import PROJECT_ROOT
    from tests.staff.conftest import bot, said

    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    events = []
    for number, text in enumerate(["is there wheelchair access?", "can I bring my walker, call 780-555-0199",
                                   "do you have an elevator?"]):
        at = now + timedelta(seconds=10 * number)
        events += [said(text, "out_of_scope", 0.4, at, "socketio"),
                   ActionExecuted("utter_out_of_scope", timestamp=at.timestamp()), bot("Sorry, that's outside ...", at)]
    # a form's answer NLU was unsure of, which the form took: not unanswered
    events += [said("Tuesday afternoon", "nlu_fallback", 0.2, now, "socketio"),
               ActionExecuted("booking_form", timestamp=now.timestamp())]
    store = UrlSQLTrackerStore(domain=Domain.load(str(PROJECT_ROOT / "domain")), db_url=database_url)
    asyncio.run(store.save(DialogueStateTracker.from_events("conv-declined", events)))


def test_unanswered_messages_are_listed_and_grouped_into_a_topic_from_improve_the_bot(
        client: Any, staff: Any, clinic_db: str) -> None:
    declined_conversation(clinic_db)
    assert login(client, "frida").status_code == 302
    page = client.get("/improve").get_data(as_text=True)
    listed = re.findall(r'name="event_id" value="(\d+)" id="event-\d+" aria-label="Choose: ([^"]+)"', page)
    # newest first; the fixture's "did you mean" message too, not the form's answer nor answered questions
    assert [text for _, text in listed] == ["do you have an elevator?", "can I bring my walker, call [phone hidden]",
                                            "is there wheelchair access?", "how much does a session cost blorp"]
    ids = {text: event for event, text in listed[:3]}
    # one chosen message has a phone number: the proposal is refused, the messages stay chosen (now marked)
    answer = propose(client, "/improve/topics", title="Wheelchair access", answer_text=ANSWER, typed=TYPED,
                     event_id=list(ids.values()))
    assert answer.status_code == 422 and "contains contact details" in answer.get_data(as_text=True)
    page = answer.get_data(as_text=True)
    assert len(re.findall(r'name="mark_id" value="\d+"[^>]*checked', page)) == 3
    assert re.findall(r'aria-label="Choose: ([^"]+)"', page.split("Unanswered lately")[1].split("</table>")[0]) == [
        "how much does a session cost blorp"]
    kept = [int(i) for i in marks_of(client, "conv-declined")]
    answer = propose(client, "/improve/topics", title="Wheelchair access", answer_text=ANSWER, typed=TYPED,
                     mark_id=[str(kept[0]), str(kept[2])])
    assert answer.status_code == 302
    (topic,) = teach.additions(staff)
    assert set(topic.examples[:2]) == {"is there wheelchair access?", "do you have an elevator?"}
    assert topic.mark_ids == (kept[0], kept[2])


def test_the_console_says_when_the_trainer_is_not_running(client: Any, staff: Any) -> None:
    from datetime import datetime, timedelta, timezone

    from clinic_assistant.clinic.db import worker_heartbeats
    from clinic_assistant.training.worker import beat

    assert login(client, "frida").status_code == 302
    for path in ("/improve", "/improve/training"):
        assert "trainer is not running" in client.get(path).get_data(as_text=True)
    beat(staff)
    for path in ("/improve", "/improve/training"):
        assert "trainer is not running" not in client.get(path).get_data(as_text=True)
    with staff.begin() as connection:  # last heard of two minutes ago: stopped
        connection.execute(worker_heartbeats.update().values(
            seen_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
    assert "trainer is not running" in client.get("/improve/training").get_data(as_text=True)


def test_forgetting_a_conversation_takes_its_messages_out_of_proposals(client: Any, staff: Any) -> None:
    from clinic_assistant.clinic.forget import delete_conversations

    assert login(client, "frida").status_code == 302
    marked = mark_all_new(client, "conv-faq")
    assert propose(client, "/improve/topics", title="Wheelchair access", answer_text=ANSWER,
                   mark_id=[str(i) for i in marked], typed=TYPED).status_code == 302
    assert "What is dry needling?" in teach.additions(staff)[0].examples
    delete_conversations(staff, ["conv-faq"], actor="anna")
    (topic,) = teach.additions(staff)
    assert "What is dry needling?" not in topic.examples and topic.mark_ids == ()
    assert len(topic.examples) == 5  # the typed ones stay


def test_a_clinician_withdraws_what_the_bot_learned(client: Any, staff: Any) -> None:
    from clinic_assistant.clinic.db import training_additions

    assert login(client, "frida").status_code == 302
    assert propose(client, "/improve/topics", title="Wheelchair access", answer_text=ANSWER, typed=TYPED).status_code == 302
    token = csrf_token(client.get("/improve").get_data(as_text=True))
    assert client.post("/improve/additions/1/withdraw", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    assert login(client, "cleo").status_code == 302
    page = client.get("/improve").get_data(as_text=True)
    token = csrf_token(page)
    assert "Withdraw 1" not in page  # only once approved or learned
    refused = client.post("/improve/additions/1/withdraw", data={"csrf_token": token}, follow_redirects=True)
    assert "only an approved or learned proposal can be withdrawn" in refused.get_data(as_text=True)
    with staff.begin() as connection:
        connection.execute(training_additions.update().values(status="live", decided_by="cleo"))
    assert "Withdraw 1" in client.get("/improve").get_data(as_text=True)
    answer = client.post("/improve/additions/1/withdraw", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/improve/training")
    assert teach.additions(staff)[0].status == teach.WITHDRAWN
    assert "Wheelchair access" not in client.get("/answers").get_data(as_text=True)
    with staff.connect() as connection:
        assert connection.execute(sa.select(audit_log.c.username).where(
            audit_log.c.action == "withdraw_addition")).scalars().all() == ["cleo"]
