"""The staff console in headless Chromium, next to a patient in the widget, both on the
real bot: sign in, find the handed-off conversation, reply live, change a status,
hand back. Also the bot's staff channel on its own."""
from __future__ import annotations

import json
import re
import sqlite3
from typing import Any, Callable

import requests
from playwright.sync_api import expect

from tests.browser.conftest import (
    ARTIFACTS,
    STAFF_API_TOKEN,
    STAFF_PASSWORD,
    STAFF_USER,
    WidgetSite,
    run_axe,
)
from tests.browser.test_widget import ask, open_chat, session_id, settled


def serious(page: Any) -> list[dict[str, Any]]:
    return [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]


def test_staff_find_a_handoff_reply_live_and_hand_back(
    page: Any, browser: Any, widget_site: WidgetSite, staff_console: str,
    expected_text: Callable[[str], str],
) -> None:
    # a patient asks for a person in the widget and leaves a phone number
    open_chat(page)
    ask(page, "I want to talk to a real person")
    expect(page.locator(".msg.bot .text").last).to_contain_text("pass this to our clinic team")
    ask(page, "Ann Smith 780-555-0123")
    expect(page.locator(".subtitle")).to_contain_text("Handed to clinic staff")
    settled(page)
    conversation = session_id(page, widget_site)

    # bypass_csp: only so that axe-core can be injected; the console itself allows no inline script
    staff_context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    staff_context.set_default_timeout(20_000)
    staff = staff_context.new_page()
    staff.goto(staff_console + "/conversations")
    expect(staff).to_have_url(f"{staff_console}/login?next=/conversations")
    assert serious(staff) == [], "login page"
    staff.get_by_label("Username").fill(STAFF_USER)
    staff.get_by_label("Password").fill("not the password")
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.get_by_role("alert")).to_contain_text("Wrong username or password.")
    staff.get_by_label("Password").fill(STAFF_PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.get_by_role("heading", name="Conversations")).to_be_visible()

    # filter to handed-off conversations; the patient's is there, phone hidden
    staff.get_by_label("Handed off").select_option("yes")
    staff.get_by_role("button", name="Filter").click()
    expect(staff).to_have_url(re.compile(r"/conversations\?.*handed_off=yes"))
    row = staff.locator(f'tr[data-conversation="{conversation}"]')
    expect(row).to_contain_text("handed off")
    assert serious(staff) == [], "conversation list"
    row.get_by_role("link").click()
    expect(staff.locator(".turn.user").first).to_contain_text("I want to talk to a real person")
    expect(staff.get_by_text("Ann Smith [phone hidden]")).to_be_visible()
    assert "780-555-0123" not in staff.content()
    assert serious(staff) == [], "transcript"

    # a live reply reaches the patient's widget, shown as from clinic staff; the
    # patient had closed the chat window, so the launcher shows a new message
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    staff.get_by_label("Your message").fill("Hi Ann, this is Anna at the clinic. How can I help?")
    staff.get_by_role("button", name="Send reply").click()
    expect(staff.get_by_role("status")).to_have_text("Sent to the patient.")
    launcher = page.get_by_role("button", name="Chat with us: GP Pain & Physiotherapy (1 new message)")
    expect(launcher).to_be_visible()
    expect(page.locator(".badge")).to_have_text("1")
    launcher.click()
    expect(page.locator(".badge")).to_be_hidden()
    reply = page.locator(".msg.staff")
    expect(reply.locator(".text")).to_have_text("Hi Ann, this is Anna at the clinic. How can I help?")
    expect(reply.locator(".staff-label")).to_have_text("Clinic staff · Anna")
    expect(page.locator(".subtitle")).to_have_text("You're talking with clinic staff")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-staff-reply.png"))

    # while staff have it, the bot keeps quiet; staff see the patient's answer
    bot_messages = page.locator(".msg.bot").count()
    ask(page, "My shoulder has been sore since Tuesday")
    settled(page)
    assert page.locator(".msg.bot").count() == bot_messages
    staff.reload()
    expect(staff.locator(".turn.user").last).to_contain_text("My shoulder has been sore since Tuesday")

    # the ticket is marked contacted, with a note, and the change is recorded
    staff.get_by_label("Status").first.select_option("contacted")
    staff.get_by_label("Note").first.fill("replied in chat")
    staff.get_by_role("button", name="Save").first.click()
    expect(staff.locator(".history").first).to_contain_text(f"{STAFF_USER} → contacted: replied in chat")
    staff.screenshot(path=str(ARTIFACTS / "staff-transcript.png"), full_page=True)

    # handing back: the patient is told, and the bot answers again
    staff.get_by_role("button", name="Hand back to the bot").click()
    expect(staff.get_by_role("status")).to_contain_text("Handed back to the bot")
    expect(page.locator(".msg.bot .text").last).to_have_text(expected_text("utter_handoff_returned"))
    expect(page.locator(".subtitle")).to_have_text("Automated assistant")
    ask(page, "What is dry needling?")
    expect(page.locator(".msg.bot .text").last).to_have_text(expected_text("utter_faq_what_is_dry_needling"))

    # the reply is part of the conversation's record: a reload shows it
    page.reload()
    expect(page.locator(".msg.staff .text")).to_have_text("Hi Ann, this is Anna at the clinic. How can I help?")

    # Anna, an administrator, makes a front-desk account in the console
    staff.get_by_role("link", name="Accounts").click()
    expect(staff.get_by_role("heading", name="Staff accounts")).to_be_visible()
    staff.get_by_label("Username").fill("fay")
    staff.get_by_label("Name shown to patients with replies").fill("Fay")
    staff.get_by_label("Role", exact=True).select_option("front_desk")
    staff.get_by_label("Password (at least 12 characters)").fill("a long enough pass")
    staff.get_by_label("Same password again").fill("a long enough pass")
    staff.get_by_role("button", name="Make the account").click()
    expect(staff.get_by_role("status")).to_have_text("Made the account 'fay' (Front desk).")
    expect(staff.locator("tr", has_text="fay")).to_contain_text("Front desk")
    assert serious(staff) == [], "accounts"
    staff_context.close()


def test_the_bots_staff_channel_checks_its_requests(widget_site: WidgetSite) -> None:
    url = widget_site.bot_url + "/webhooks/staff/reply"
    body = {"conversation_id": "nobody", "text": "hi", "staff_name": "Anna"}
    assert requests.post(url, json=body, timeout=10).status_code == 401
    wrong = requests.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert wrong.status_code == 401
    auth = {"Authorization": f"Bearer {STAFF_API_TOKEN}"}
    missing = requests.post(url, json=body, headers=auth, timeout=10)
    assert missing.status_code == 404 and missing.json() == {"error": "no such conversation"}
    bad = requests.post(url, json={"conversation_id": "x", "staff_name": "Anna"}, headers=auth, timeout=10)
    assert bad.status_code == 400 and "'text'" in bad.json()["error"]
    not_json = requests.post(url, data="{", headers={**auth, "Content-Type": "application/json"}, timeout=10)
    assert not_json.status_code == 400

    # a REST conversation cannot receive a message later: it is kept, and the answer says so
    widget_site.bot.send("rest-patient", "hello")
    kept = requests.post(url, json={**body, "conversation_id": "rest:rest-patient"}, headers=auth, timeout=10)
    assert kept.status_code == 200 and kept.json() == {"ok": True, "channel": "rest", "delivered": False}
    with sqlite3.connect(widget_site.bot.tracker_db) as db:
        bot_texts = [json.loads(data)["text"] for (data,) in db.execute(
            "SELECT data FROM events WHERE sender_id = 'rest:rest-patient' AND type_name = 'bot'")]
    assert bot_texts[-1] == "hi"
    # Rasa's HTTP API stays off: the staff channel is the only way in
    tracker = requests.get(f"{widget_site.bot_url}/conversations/rest:rest-patient/tracker", timeout=10)
    assert tracker.status_code == 404


def staff_signed_in(browser: Any, staff_console: str, username: str) -> Any:
    """A new browser profile signed in to the console as ``username``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # for axe only
    context.set_default_timeout(20_000)
    staff = context.new_page()
    staff.goto(staff_console + "/login")
    staff.get_by_label("Username").fill(username)
    staff.get_by_label("Password").fill(STAFF_PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.get_by_role("heading", name="Conversations")).to_be_visible()
    return staff


def test_front_desk_proposes_a_closure_a_clinician_approves_it_and_a_patient_sees_it(
    browser: Any, widget_site: WidgetSite, staff_console: str,
) -> None:
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from clinic_assistant.clinic import details
    from clinic_assistant.clinic.db import engine_for
    from staff import accounts

    engine = engine_for(f"sqlite:///{widget_site.bot.tracker_db}")
    accounts.create_user(engine, "frida", STAFF_PASSWORD, "Frida", role="front_desk")
    accounts.create_user(engine, "cleo", STAFF_PASSWORD, "Cleo", role="clinician")
    today = datetime.now(ZoneInfo("America/Edmonton")).date()
    label = f"{today:%A}, {today:%B} {today.day}"

    def signed_in_as(username: str) -> Any:
        staff = staff_signed_in(browser, staff_console, username)
        staff.get_by_role("link", name="Clinic details").click()
        expect(staff.get_by_role("heading", name="Clinic details", exact=True)).to_be_visible()
        return staff

    try:
        # front desk: a closure today, with a mistake first (a phone number without its area code)
        fay = signed_in_as("frida")
        fay.get_by_label("Phone").fill("555-0100")
        fay.get_by_label("First day closed").fill(today.isoformat())
        fay.get_by_label("Last day closed").fill(today.isoformat())
        fay.get_by_label("Note for patients (optional, like “holidays”)").fill("staff training")
        fay.get_by_label("Why (kept with the version)").fill("training day")
        fay.get_by_role("button", name="Propose this change").click()
        expect(fay.locator("#problem-phone")).to_contain_text("a phone number with its area code")
        expect(fay.get_by_label("First day closed")).to_have_value(today.isoformat())  # nothing lost
        assert serious(fay) == [], "clinic details with a mistake"
        fay.get_by_label("Phone").fill("(780) 555-0100")
        fay.get_by_role("button", name="Propose this change").click()
        expect(fay.get_by_role("status")).to_contain_text("goes live when another member of staff approves it")
        expect(fay.get_by_text("Another member of staff approves or rejects this.")).to_be_visible()
        assert fay.get_by_role("button", name=re.compile("Approve proposal")).count() == 0
        fay.context.close()

        # a clinician reads the change and approves it
        cleo = signed_in_as("cleo")
        expect(cleo.locator(".proposal .diff")).to_contain_text("note: staff training")
        assert serious(cleo) == [], "clinic details with a proposal"
        cleo.get_by_role("button", name=re.compile("Approve proposal")).click()
        expect(cleo.get_by_role("status")).to_have_text("Approved: the bot uses these details now.")
        expect(cleo.locator(".notice")).to_contain_text(f"closed on {label} (staff training)")
        cleo.context.close()

        # a patient opening the chat now is told, and asking gets the day's answer
        patient_context = browser.new_context(viewport={"width": 1280, "height": 800})
        patient_context.set_default_timeout(20_000)
        patient = patient_context.new_page()
        time.sleep(details.CHECK_EVERY_SECONDS)
        patient.goto(widget_site.url)
        open_chat(patient)
        expect(patient.locator(".msg.bot .text").first).to_contain_text(
            f"Please note: we're closed on {label} (staff training).")
        ask(patient, "are you open today?")
        expect(patient.locator(".msg.bot .text").last).to_contain_text(f"We're closed on {label} (staff training).")
        settled(patient)
        patient_context.close()
    finally:  # the other browser tests expect the file's details
        details.restore(engine, 0, "test", "back to the file")
        time.sleep(details.CHECK_EVERY_SECONDS + 0.2)


def test_front_desk_drafts_an_answer_a_clinician_approves_it_and_a_patient_reads_it(
    browser: Any, widget_site: WidgetSite, staff_console: str,
) -> None:
    import time

    from clinic_assistant.clinic import answer_texts
    from clinic_assistant.clinic.db import engine_for
    from staff import accounts

    engine = engine_for(f"sqlite:///{widget_site.bot.tracker_db}")
    for username, role in (("frida", "front_desk"), ("cleo", "clinician")):
        if accounts.authenticate(engine, username, STAFF_PASSWORD).member is None:
            accounts.create_user(engine, username, STAFF_PASSWORD, username.title(), role=role)
    new_text = "After your session, drink water and move gently. Mild soreness for a day or two is common."

    def open_answer(username: str) -> Any:
        staff = staff_signed_in(browser, staff_console, username)
        staff.get_by_role("link", name="Answers").click()
        staff.get_by_role("link", name="Aftercare", exact=True).click()
        expect(staff.get_by_role("heading", name="Answer: Aftercare")).to_be_visible()
        return staff

    try:
        frida = open_answer("frida")
        assert serious(frida) == [], "answer page"
        frida.get_by_role("textbox", name="Text").fill(new_text + " A session is $80.")
        frida.get_by_label("Why (kept with the version)").fill("simpler aftercare")
        frida.get_by_role("button", name="Preview and check").click()
        expect(frida.locator("#draft-problems")).to_contain_text("a price or dollar amount")
        expect(frida.locator("#preview")).to_contain_text("A session is $80.")
        frida.get_by_role("textbox", name="Text").fill(new_text)
        frida.get_by_role("button", name="Propose this text").click()
        expect(frida.get_by_role("status")).to_contain_text("goes live when a clinician approves it")
        expect(frida.locator(".proposal .bubble")).to_have_text(new_text)
        frida.context.close()

        cleo = open_answer("cleo")
        cleo.get_by_role("button", name=re.compile("Approve draft")).click()
        expect(cleo.get_by_role("status")).to_have_text("Approved: the bot says the new text now.")
        cleo.context.close()

        patient_context = browser.new_context(viewport={"width": 1280, "height": 800})
        patient_context.set_default_timeout(20_000)
        patient = patient_context.new_page()
        time.sleep(answer_texts.CHECK_EVERY_SECONDS)
        patient.goto(widget_site.url)
        open_chat(patient)
        ask(patient, "what should I do after my session?")
        expect(patient.locator(".msg.bot .text").last).to_have_text(new_text)
        patient_context.close()
    finally:  # the other browser tests expect domain/'s texts
        answer_texts.restore(engine, "utter_faq_aftercare", 0, "test", "clinician")
        time.sleep(answer_texts.CHECK_EVERY_SECONDS + 0.2)


def test_front_desk_groups_unanswered_messages_into_a_topic_a_clinician_approves_it_and_a_patient_gets_the_answer(
    browser: Any, widget_site: WidgetSite, staff_console: str,
) -> None:
    """The whole loop of issue #19's fifth must-have, with the background trainer running
    as `make run` runs it. Last in this file: the bot then answers with the taught model
    until the end, where it gets the repository's model back."""
    import shutil
    import subprocess
    import sys
    import time

    from clinic_assistant.clinic.db import engine_for
    from staff import accounts
    from tests.harness.servers import LOGS, MODEL, PROJECT, base_env

    engine = engine_for(f"sqlite:///{widget_site.bot.tracker_db}")
    for username, role in (("frida", "front_desk"), ("cleo", "clinician")):
        if accounts.authenticate(engine, username, STAFF_PASSWORD).member is None:
            accounts.create_user(engine, username, STAFF_PASSWORD, username.title(), role=role)
    models = widget_site.rasa_env["CONSOLE_MODELS_DIR"]
    with open(LOGS / "trainer.log", "ab") as log:
        trainer = subprocess.Popen(
            [sys.executable, "-m", "clinic_assistant.training"], cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT,
            env=base_env(DATABASE_URL=f"sqlite:///{widget_site.bot.tracker_db}", RASA_URL=widget_site.bot_url,
                         STAFF_API_TOKEN=STAFF_API_TOKEN, CONSOLE_MODELS_DIR=models, TRAINER_POLL_SECONDS="0.5"))
    answer = ("Yes. Our entrance has no steps and the treatment rooms are on the ground floor. "
              "Call us at {clinic_phone} if you need a hand.")
    asked = ["is your clinic wheelchair accessible?", "can I get in with a wheelchair",
             "do you have a ramp for wheelchairs?"]
    try:
        # a patient asks about wheelchair access, which the bot was never taught
        patient_context = browser.new_context(viewport={"width": 1280, "height": 800})
        patient_context.set_default_timeout(20_000)
        patient = patient_context.new_page()
        patient.goto(widget_site.url)
        open_chat(patient)
        for text in asked:
            ask(patient, text)
            settled(patient)
        conversation = session_id(patient, widget_site)
        patient_context.close()

        # front desk marks the three messages as a new question, then groups them into a topic
        frida = staff_signed_in(browser, staff_console, "frida")
        frida.goto(f"{staff_console}/conversations/{conversation}")
        for text in asked:
            turn = frida.locator("li", has=frida.get_by_text(text, exact=True))
            turn.get_by_label("Right answer").select_option("new")
            turn.get_by_role("button", name="Mark").click()
            expect(frida.locator("li", has=frida.get_by_text(text, exact=True)).locator(".tag.done")).to_have_text(
                "marked: new question")
        frida.get_by_role("link", name="Improve the bot").click()
        for text in asked:
            frida.get_by_label(f"Choose: {text}").check()
        frida.get_by_label("More ways patients ask it (one per line, optional)").fill(
            "is there wheelchair access at your building\nmy husband uses a wheelchair, can he get into the clinic")
        frida.get_by_label("Topic name").fill("Wheelchair access")
        frida.get_by_label(re.compile("^Answer text")).fill(answer + " A first visit is $90.")
        frida.get_by_label("Why (kept with the proposal)").fill("three patients asked this week")
        frida.get_by_role("button", name="Propose a new topic").click()
        expect(frida.locator("#proposal-problems")).to_contain_text("a price or dollar amount")
        expect(frida.get_by_label("Topic name")).to_have_value("Wheelchair access")  # nothing lost
        for text in asked:
            expect(frida.get_by_label(f"Choose: {text}")).to_be_checked()
        assert serious(frida) == [], "improve page with a mistake"
        frida.get_by_label(re.compile("^Answer text")).fill(answer)
        frida.get_by_role("button", name="Propose a new topic").click()
        expect(frida.get_by_role("status")).to_contain_text("A clinician approves it")
        expect(frida.locator(".proposal").first).to_contain_text("A clinician approves or rejects this.")
        frida.context.close()

        # a clinician approves it and follows the training until the bot has it
        cleo = staff_signed_in(browser, staff_console, "cleo")
        cleo.get_by_role("link", name="Improve the bot").click()
        expect(cleo.locator(".proposal").first).to_contain_text("can I get in with a wheelchair")
        cleo.get_by_role("button", name=re.compile(r"^Approve \d+")).first.click()
        expect(cleo.get_by_role("heading", name="Training progress")).to_be_visible()
        expect(cleo.locator("#training-active")).to_be_visible()
        expect(cleo.locator("[data-status]").first).to_have_attribute("data-status", "live", timeout=240_000)
        expect(cleo.locator("article").first).to_contain_text("test stories")
        assert serious(cleo) == [], "training progress"
        cleo.context.close()

        # a patient asking now gets the new answer, with the clinic's phone filled in
        patient_context = browser.new_context(viewport={"width": 1280, "height": 800})
        patient_context.set_default_timeout(20_000)
        patient = patient_context.new_page()
        patient.goto(widget_site.url)
        open_chat(patient)
        ask(patient, "is your building wheelchair accessible?")
        expect(patient.locator(".msg.bot .text").last).to_have_text(answer.replace("{clinic_phone}", "(780) 555-0100"))
        settled(patient)
        patient_context.close()
    finally:  # the widget's tests expect the repository's model
        trainer.terminate()
        trainer.wait(30)
        repository = shutil.copy(MODEL, f"{models}/repository.tar.gz")
        loaded = requests.post(f"{widget_site.bot_url}/webhooks/staff/model", json={"model_file": repository},
                               headers={"Authorization": f"Bearer {STAFF_API_TOKEN}"}, timeout=120)
        assert loaded.status_code == 200, loaded.text
        time.sleep(0.2)
