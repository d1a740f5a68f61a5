"""Who may do what (staff/roles.py, issue #19): every page and form of the console for
every role, against the table below written from the issue (front desk: conversations,
queues, live reply; clinician: the same, and approving what the bot learns; administrator: also accounts, exports and
forgetting). A page added without an entry here fails the first test."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from clinic_assistant.clinic.db import audit_log, engine_for
from staff import accounts, roles
from tests.staff.conftest import PASSWORD, csrf_token, login

EVERYONE = {"front_desk", "clinician", "admin"}
ADMIN = {"admin"}
CLINICIAN = {"clinician"}
# (method, endpoint) -> the roles that may use it
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "auth.logout"): EVERYONE,
    ("GET", "conversations.home"): EVERYONE,
    ("GET", "conversations.conversation_list"): EVERYONE,
    ("GET", "conversations.conversation"): EVERYONE,
    ("POST", "conversations.reveal"): EVERYONE,
    ("POST", "conversations.reply"): EVERYONE,
    ("POST", "conversations.hand_back"): EVERYONE,
    ("POST", "conversations.review"): EVERYONE,
    ("POST", "conversations.forget"): ADMIN,
    ("GET", "queues.queue_page"): EVERYONE,
    ("POST", "queues.reveal_queue_item"): EVERYONE,
    ("POST", "queues.change_status"): EVERYONE,
    ("GET", "improve.improve_page"): EVERYONE,
    ("POST", "improve.mark"): EVERYONE,
    ("POST", "improve.propose_topic"): EVERYONE,
    ("POST", "improve.propose_wordings"): EVERYONE,
    ("POST", "improve.approve"): CLINICIAN,  # new topics and wordings: a clinician, never their author
    ("POST", "improve.reject"): CLINICIAN,
    ("POST", "improve.withdraw"): CLINICIAN,
    ("GET", "improve.training"): EVERYONE,
    ("GET", "exports.export_nlu"): ADMIN,
    ("GET", "exports.export_conversations"): ADMIN,
    ("GET", "details.details_page"): EVERYONE,
    ("POST", "details.propose"): EVERYONE,
    ("POST", "details.approve"): EVERYONE,  # but never by the proposal's author
    ("POST", "details.reject"): EVERYONE,
    ("POST", "details.restore"): EVERYONE,
    ("GET", "answers.answer_list"): EVERYONE,
    ("GET", "answers.answer_page"): EVERYONE,
    ("POST", "answers.propose"): EVERYONE,
    ("POST", "answers.approve"): EVERYONE,  # clinicians only for conditions, treatment, aftercare, safety
    ("POST", "answers.reject"): EVERYONE,
    ("POST", "answers.restore"): EVERYONE,
    ("GET", "answers.export_answers"): ADMIN,
    ("GET", "accounts.account_list"): ADMIN,
    ("POST", "accounts.create_account"): ADMIN,
    ("POST", "accounts.change_role"): ADMIN,
    ("POST", "accounts.deactivate"): ADMIN,
}
PUBLIC = {"auth.login", "static", "health"}
ARGUMENTS = {"conversation_id": "conv-faq", "kind": "handoff", "item_id": 1, "fmt": "csv", "username": "zed",
             "version_id": 1, "response": "utter_faq_parking", "addition_id": 1}


def routes(app: Any) -> set[tuple[str, str]]:
    return {(method, rule.endpoint) for rule in app.url_map.iter_rules() if rule.endpoint not in PUBLIC
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}


def test_every_page_of_the_console_is_in_the_table(client: Any) -> None:
    assert routes(client.application) == set(EXPECTED)


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_each_role_gets_exactly_what_the_table_says(client: Any, clinic_db: str, role: str) -> None:
    engine = engine_for(clinic_db)
    accounts.create_user(engine, "tess", PASSWORD, "Tess", role=role)
    accounts.create_user(engine, "zed", PASSWORD, "Zed", role="front_desk")
    assert login(client, "tess").status_code == 302
    token = csrf_token(client.get("/conversations").get_data(as_text=True))
    # signing out last, forgetting just before it (it deletes the conversation)
    order = sorted(EXPECTED, key=lambda key: (key[1] == "auth.logout", key[1] == "conversations.forget"))
    with client.application.test_request_context():
        from flask import url_for
        urls = {key: url_for(key[1], **{name: value for name, value in ARGUMENTS.items()
                                        if name in _arguments(client.application, key[1])})
                for key in order}
    refused = []
    for key in order:
        method, _ = key
        answer = (client.get(urls[key]) if method == "GET" else
                  client.post(urls[key], data={"csrf_token": token, "role": "clinician", "confirm": "conv-faq",
                                               "text": "Hello", "status": "contacted", "choice": "new",
                                               "turn": "0"}))
        allowed = role in EXPECTED[key]
        assert (answer.status_code != 403) == allowed, (role, key, answer.status_code)
        if not allowed:
            body = answer.get_data(as_text=True)
            assert f"Your role ({roles.LABELS[role]}) does not allow this" in body
            refused.append(urls[key])
    with engine.connect() as connection:  # each refusal is in the audit log, with who and what
        logged = connection.execute(sa.select(audit_log.c.detail).where(
            audit_log.c.action == "refused", audit_log.c.username == "tess")).scalars().all()
    assert len(logged) == len(refused) and all(any(url in note for note in logged) for url in refused)


def _arguments(app: Any, endpoint: str) -> set[str]:
    return {name for rule in app.url_map.iter_rules() if rule.endpoint == endpoint for name in rule.arguments}


def test_a_page_that_names_no_action_is_refused_even_to_an_administrator(settings: Any) -> None:
    from staff.app import create_app

    app = create_app(settings)
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")  # no @needs
    with app.test_client() as client:
        assert login(client).status_code == 302  # anna, an administrator
        answer = client.get("/forgotten")
        assert answer.status_code == 403 and "secret" not in answer.get_data(as_text=True)


def test_the_console_hides_what_a_role_may_not_use(client: Any, clinic_db: str) -> None:
    accounts.create_user(engine_for(clinic_db), "fay", PASSWORD, "Fay", role="front_desk")
    assert login(client, "fay").status_code == 302
    listing = client.get("/conversations").get_data(as_text=True)
    transcript = client.get("/conversations/conv-handoff").get_data(as_text=True)
    assert "Fay (Front desk)" in listing
    assert "/exports/" not in listing and "/accounts" not in listing and "Forget this conversation" not in transcript
    assert "Mark as reviewed" in transcript and "Reply to the patient" in transcript


def test_an_administrator_manages_accounts_in_the_console_but_not_their_own(signed_in: Any, clinic_db: str) -> None:
    page = signed_in.get("/accounts").get_data(as_text=True)
    token = csrf_token(page)
    made = signed_in.post("/accounts", data={"csrf_token": token, "username": "cam", "display_name": "Cam",
                                             "role": "clinician", "password": "a long enough pass",
                                             "password_again": "a long enough pass"}, follow_redirects=True)
    assert "Made the account &#39;cam&#39; (Clinician)" in made.get_data(as_text=True)
    engine = engine_for(clinic_db)
    assert accounts.authenticate(engine, "cam", "a long enough pass").member.role == "clinician"
    mismatch = signed_in.post("/accounts", data={"csrf_token": token, "username": "dan", "role": "admin",
                                                 "password": "a long enough pass", "password_again": "other"},
                              follow_redirects=True)
    assert "The two passwords differ" in mismatch.get_data(as_text=True)
    bad_role = signed_in.post("/accounts/cam/role", data={"csrf_token": token, "role": "owner"},
                              follow_redirects=True)
    assert "a role is one of: front_desk, clinician, admin" in bad_role.get_data(as_text=True)
    own = signed_in.post("/accounts/anna/role", data={"csrf_token": token, "role": "front_desk"},
                         follow_redirects=True)
    assert "cannot change your own role" in own.get_data(as_text=True)
    own = signed_in.post("/accounts/anna/deactivate", data={"csrf_token": token}, follow_redirects=True)
    assert "cannot deactivate your own account" in own.get_data(as_text=True)
    assert accounts.authenticate(engine, "anna", PASSWORD).member.role == "admin"
    signed_in.post("/accounts/cam/role", data={"csrf_token": token, "role": "front_desk"})
    signed_in.post("/accounts/cam/deactivate", data={"csrf_token": token})
    assert accounts.authenticate(engine, "cam", "a long enough pass").member is None
    with engine.connect() as connection:
        logged = connection.execute(sa.select(audit_log.c.action, audit_log.c.detail).where(
            audit_log.c.username == "anna", audit_log.c.action.in_(
                ["create_user", "set_role", "deactivate_user"])).order_by(audit_log.c.id)).all()
    assert [tuple(row) for row in logged] == [("create_user", "cam (clinician)"), ("set_role", "cam -> front_desk"),
                                              ("deactivate_user", "cam")]


def test_a_role_change_applies_from_the_next_request(client: Any, clinic_db: str) -> None:
    engine = engine_for(clinic_db)
    accounts.create_user(engine, "gus", PASSWORD, "Gus", role="admin")
    assert login(client, "gus").status_code == 302
    assert client.get("/exports/conversations.csv").status_code == 200
    accounts.set_role(engine, "gus", "front_desk")
    assert client.get("/exports/conversations.csv").status_code == 403


def test_the_readme_has_the_table_of_who_may_do_what() -> None:
    from clinic_assistant.settings import PROJECT_ROOT

    assert roles.table() in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
