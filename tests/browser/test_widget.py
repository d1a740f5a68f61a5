"""The website chat widget in a real headless Chromium, against the real bot."""
from __future__ import annotations

import json
from typing import Any, Callable

from playwright.sync_api import expect

from clinic_assistant.clinic import identity
from tests.browser.conftest import ARTIFACTS, WidgetSite, run_axe

LAUNCHER = "Chat with us: GP Pain & Physiotherapy"
SLOW = 90_000  # ms: a restarted Rasa server loads its model first


def open_chat(page: Any) -> None:
    page.get_by_role("button", name=LAUNCHER).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    # the conversation starts with the first-contact line, before the patient types
    expect(page.locator(".msg.bot .text").first).to_contain_text("automated assistant")


def ask(page: Any, text: str) -> None:
    box = page.get_by_label("Type your message")
    box.fill(text)
    box.press("Enter")


def settled(page: Any) -> None:
    """Waits until every message is acknowledged and no reply is awaited."""
    expect(page.locator(".msg.pending")).to_have_count(0)
    expect(page.locator(".typing")).to_be_hidden()


def session_id(page: Any, site: WidgetSite) -> str:
    """The conversation id of the token the widget keeps (issued and signed by the server)."""
    raw = page.evaluate("key => localStorage.getItem(key)", f"clinic-chat:{site.bot_url}:token")
    conversation_id = identity.web_conversation(json.loads(raw))
    assert conversation_id is not None, "the widget keeps a token the server did not issue"
    return conversation_id


def shown_messages(page: Any) -> list[str]:
    return [text.strip() for text in page.locator(".msg .text").all_inner_texts()]


def test_a_question_gets_its_answer_announced(page: Any, expected_text: Callable[[str], str]) -> None:
    open_chat(page)
    # the typing indicator shows while the reply is on its way
    page.evaluate("""() => {
        const typing = document.querySelector('#clinic-chat-widget').shadowRoot.querySelector('.typing');
        window.__typingShown = false;
        new MutationObserver(() => { if (!typing.hidden) window.__typingShown = true; })
            .observe(typing, {attributes: true});
    }""")
    ask(page, "What is dry needling?")
    answer = expected_text("utter_faq_what_is_dry_needling")
    expect(page.locator(".msg.user .text").last).to_have_text("What is dry needling?")
    expect(page.locator(".msg.bot .text").last).to_have_text(answer)
    settled(page)
    assert page.evaluate("window.__typingShown") is True
    # screen readers hear the reply (polite live region)
    expect(page.locator("[aria-live=polite]")).to_have_text(answer)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"))


def test_a_quick_reply_sends_its_payload_and_shows_its_title(
    page: Any, widget_site: WidgetSite, expected_text: Callable[[str], str]
) -> None:
    open_chat(page)
    ask(page, "hello")
    expect(page.locator(".msg.bot .text").last).to_have_text(expected_text("utter_greet"))
    replies = page.get_by_role("group", name="Suggested replies")
    expect(replies.get_by_role("button")).to_have_count(3)
    replies.get_by_role("button", name="How do I book?").click()
    expect(page.locator(".msg.user .text").last).to_have_text("How do I book?")
    expect(page.locator(".msg.bot .text").last).to_have_text(expected_text("utter_ask_booking_name"))
    expect(replies.get_by_role("button")).to_have_count(0)
    settled(page)
    # what reached the bot is the button's payload
    assert widget_site.user_messages(session_id(page, widget_site))[-1] == "/request_booking"


def test_the_conversation_continues_after_a_reload_and_on_another_page(
    page: Any, widget_site: WidgetSite
) -> None:
    open_chat(page)
    ask(page, "hello")
    page.get_by_role("button", name="How do I book?").click()
    expect(page.locator(".msg.bot")).to_have_count(3)
    settled(page)
    before = shown_messages(page)
    first_session = session_id(page, widget_site)

    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()  # it was open, so it reopens
    expect(page.locator(".msg")).to_have_count(len(before))
    assert shown_messages(page) == before  # the button shows as its title, as before

    page.get_by_role("link", name="Dry needling").first.click()
    page.wait_for_url("**/dry-needling.html")
    expect(page.locator(".msg")).to_have_count(len(before))
    assert shown_messages(page) == before
    assert session_id(page, widget_site) == first_session

    # "Start over" asks first, then begins a new conversation
    page.get_by_role("button", name="Start over").click()
    page.get_by_role("button", name="Start a new conversation").click()
    expect(page.locator(".msg")).to_have_count(1)
    expect(page.locator(".msg.bot .text")).to_contain_text("automated assistant")
    assert session_id(page, widget_site) != first_session
    assert widget_site.user_messages(first_session)  # the old one is still on record


def test_everything_works_with_the_keyboard_alone(
    page: Any, expected_text: Callable[[str], str]
) -> None:
    def focused() -> str:
        return str(page.evaluate("""() => {
            const host = document.activeElement;
            if (!host || host.id !== 'clinic-chat-widget') return 'page';
            const inner = host.shadowRoot.activeElement;
            return inner ? (inner.getAttribute('aria-label') || inner.textContent.trim()) : 'none';
        }"""))

    for _ in range(20):
        page.keyboard.press("Tab")
        if focused() == LAUNCHER:
            break
    assert focused() == LAUNCHER, "the launcher cannot be reached with Tab"
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_label("Type your message")).to_be_focused()

    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot .text").last).to_have_text(expected_text("utter_greet"))
    # the suggested replies sit just before the text box
    page.keyboard.press("Shift+Tab")
    assert focused() == "How do I book?"
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot .text").last).to_have_text(expected_text("utter_ask_booking_name"))
    expect(page.get_by_label("Type your message")).to_be_focused()

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert focused() == LAUNCHER
    expect(page.get_by_role("button", name=LAUNCHER)).to_have_attribute("aria-expanded", "false")


def test_urgent_replies_stand_out_and_are_announced_at_once(
    page: Any, expected_text: Callable[[str], str]
) -> None:
    open_chat(page)
    ask(page, "I have chest pain and can't breathe")
    urgent = page.locator(".msg.urgent")
    expect(urgent).to_have_count(1)
    expect(urgent.locator(".text")).to_have_text(expected_text("utter_red_flag_emergency"))
    expect(urgent.locator(".urgent-label")).to_have_text("Urgent")
    expect(page.locator("[aria-live=assertive]")).to_contain_text("call 911 now")
    # an ordinary reply does not look urgent
    assert page.locator(".msg.bot:not(.urgent)").count() == 1  # the first-contact line


def test_a_possible_emergency_keeps_the_911_reply_first_and_both_urgent_lines_are_heard(
    page: Any, expected_text: Callable[[str], str]
) -> None:
    """The classifier alone raised the alarm on an everyday statement
    (tests/test_possible_emergency.py): 911 reply, general information, closing 911 line."""
    open_chat(page)
    ask(page, "pain shoots from my bum down the back of my right leg")
    urgent = page.locator(".msg.urgent .text")
    expect(urgent).to_have_count(2)
    expect(urgent.first).to_have_text(expected_text("utter_red_flag_emergency"))
    expect(urgent.last).to_have_text(expected_text("utter_after_alarm_closing_nerve"))
    settled(page)
    texts = shown_messages(page)
    assert texts.index(expected_text("utter_red_flag_emergency")) < texts.index(
        expected_text("utter_condition_sciatica"))
    # the closing line does not replace the emergency reply before a screen reader reads it
    region = page.locator("[aria-live=assertive]")
    expect(region).to_contain_text("Please call 911 now")
    expect(region).to_contain_text("weakness in both legs")
    # no booking button after a possible emergency
    expect(page.get_by_role("group", name="Suggested replies").get_by_role("button")).to_have_count(0)


def test_a_handoff_switches_the_header_to_clinic_staff(page: Any) -> None:
    open_chat(page)
    expect(page.locator(".subtitle")).to_have_text("Automated assistant")
    ask(page, "I want to talk to a real person")
    expect(page.locator(".msg.bot .text").last).to_contain_text("pass this to our clinic team")
    ask(page, "skip")
    expect(page.locator(".subtitle")).to_contain_text("Handed to clinic staff")
    expect(page.get_by_role("dialog")).to_have_class("panel staff")
    page.reload()
    expect(page.locator(".subtitle")).to_contain_text("Handed to clinic staff")


def test_html_is_shown_as_text_and_only_web_links_are_links(page: Any) -> None:
    open_chat(page)
    attack = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'
    ask(page, attack)
    expect(page.locator(".msg.user .text").last).to_have_text(attack)
    settled(page)
    ask(page, "see https://example.com/a?b=1, or javascript:alert(1)")
    settled(page)
    page.reload()  # the same text, back from the server's record
    expect(page.locator(".msg.user .text").first).to_have_text(attack)
    messages = page.locator(".messages")
    for tag in ("img", "script", "b"):
        assert messages.locator(tag).count() == 0, f"<{tag}> from a message reached the page"
    assert page.evaluate("window.__pwned") is None
    links = messages.get_by_role("link")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com/a?b=1")
    expect(links).to_have_attribute("target", "_blank")
    expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")


def test_no_serious_accessibility_problems(page: Any, browser: Any, widget_site: WidgetSite) -> None:
    open_chat(page)
    ask(page, "hello")
    ask(page, "I have chest pain and can't breathe")
    expect(page.locator(".msg.urgent")).to_have_count(1)
    settled(page)
    problems = [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]
    assert problems == [], json.dumps(problems, indent=2)

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    small = phone.new_page()
    small.goto(widget_site.url)
    small.get_by_role("button", name=LAUNCHER).click()
    expect(small.locator(".msg.bot")).to_have_count(1)
    problems = [v for v in run_axe(small) if v["impact"] in ("serious", "critical")]
    phone.close()
    assert problems == [], json.dumps(problems, indent=2)


def test_on_a_360px_phone_the_chat_fills_the_screen_and_the_input_stays_visible(
    browser: Any, widget_site: WidgetSite, expected_text: Callable[[str], str]
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(widget_site.url)
    page.get_by_role("button", name=LAUNCHER).tap()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None and (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 360, 740)
    ask(page, "What is dry needling?")
    expect(page.locator(".msg.bot .text").last).to_have_text(expected_text("utter_faq_what_is_dry_needling"))
    # in the order of the conversation, even if the question was typed before the
    # first-contact line arrived
    assert shown_messages(page)[:2] == [
        page.locator(".msg.bot .text").first.inner_text().strip(), "What is dry needling?"
    ]
    assert shown_messages(page)[0].startswith("Hi, I'm the automated assistant")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-360px.png"))

    # the on-screen keyboard takes the lower part of the screen: the input moves up
    page.set_viewport_size({"width": 360, "height": 400})
    page.wait_for_function("""() => {
        const input = document.querySelector('#clinic-chat-widget').shadowRoot.querySelector('textarea');
        return input.getBoundingClientRect().bottom <= window.innerHeight;
    }""", timeout=5_000)
    field = page.get_by_label("Type your message").bounding_box()
    send = page.get_by_role("button", name="Send").bounding_box()
    assert field is not None and send is not None
    assert field["y"] + field["height"] <= 400 and send["x"] + send["width"] <= 360
    page.screenshot(path=str(ARTIFACTS / "widget-360px-keyboard.png"))
    context.close()


def test_messages_typed_while_disconnected_are_sent_once_when_it_returns(
    page: Any, widget_site: WidgetSite, expected_text: Callable[[str], str]
) -> None:
    open_chat(page)
    ask(page, "hello")
    expect(page.locator(".msg.bot")).to_have_count(2)
    settled(page)
    conversation = session_id(page, widget_site)

    widget_site.bot.rasa.kill()  # the server goes away, as in a crash
    expect(page.get_by_role("status")).to_contain_text("Reconnecting")
    ask(page, "What is dry needling?")
    expect(page.locator(".msg.pending .text")).to_have_text("What is dry needling?")
    # still offline, the patient moves to another page: the message waits there too
    page.get_by_role("link", name="Dry needling").first.click()
    expect(page.locator(".msg.pending .text")).to_have_text("What is dry needling?")
    ask(page, "Does it hurt?")
    expect(page.locator(".msg.pending")).to_have_count(2)

    widget_site.restart_rasa()
    expect(page.get_by_role("status")).to_be_hidden(timeout=SLOW)
    settled(page)
    bot_texts = page.locator(".msg.bot .text")
    expect(bot_texts.filter(has_text=expected_text("utter_faq_what_is_dry_needling")[:60])).to_have_count(1)
    # each message reached the bot exactly once, in the order typed
    assert widget_site.user_messages(conversation) == ["hello", "What is dry needling?", "Does it hurt?"]
    assert shown_messages(page).count("What is dry needling?") == 1
    assert shown_messages(page).count("Does it hurt?") == 1
