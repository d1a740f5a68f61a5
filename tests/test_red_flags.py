"""Red flags go to emergency care before anything else: recall 100%, no false alarms."""
from __future__ import annotations

import sqlite3
import uuid
from typing import Any, Callable

import pytest

from tests.harness.servers import Bot, texts
from clinic_assistant.clinic.answers import answer_after_alarm, answer_key
from clinic_assistant.triage import RED_FLAG_INTENTS, TIER_INTENTS, Triage


def test_suite_is_big_enough(red_flag_suite: dict[str, Any]) -> None:
    assert len(red_flag_suite["flags"]) >= 40
    assert len(red_flag_suite["near_misses"]) >= 40


def test_triage_recall_and_false_alarms(red_flag_suite: dict[str, Any]) -> None:
    """The first release's suite (issue #3) still holds, tier by tier."""
    triage = Triage.load()
    missed = [(f["text"], triage.assess(f["text"]).tier) for f in red_flag_suite["flags"]
              if triage.assess(f["text"]).tier != str(f["tier"])]
    false_alarms = [text for text in red_flag_suite["near_misses"]
                    if triage.assess(text).urgent]
    assert missed == []
    assert false_alarms == []


async def test_whole_pipeline_sends_every_red_flag_to_emergency_care(
    nlu_agent: Any, red_flag_suite: dict[str, Any]
) -> None:
    """Each gets its tier's reply, and no answer after it (an unsure 911 alarm of the
    classifier alone in plain words would be ``red_flag_possible_emergency``: none is)."""
    missed = []
    for flag in red_flag_suite["flags"]:
        parsed = await nlu_agent.parse_message(flag["text"])
        if answer_key(parsed) != TIER_INTENTS[str(flag["tier"])] or answer_after_alarm(parsed):
            missed.append((flag["text"], parsed["intent"]["name"]))
    assert missed == []


async def test_whole_pipeline_raises_no_false_alarm(
    nlu_agent: Any, red_flag_suite: dict[str, Any]
) -> None:
    alarms = []
    for text in red_flag_suite["near_misses"]:
        parsed = await nlu_agent.parse_message(text)
        if parsed["intent"]["name"] in RED_FLAG_INTENTS:
            alarms.append(text)
    assert alarms == []


async def test_the_flag_is_logged_with_its_reasons(nlu_agent: Any) -> None:
    text = "no fever but I have chest pain and can't breathe"
    parsed = await nlu_agent.parse_message(text)
    flags = [e for e in parsed["entities"] if e["entity"] == "red_flag"]
    assert [(f["value"], f["start"], f["end"]) for f in flags] == [("cardiac", 0, len(text))]
    triage = parsed["triage"]
    assert triage["tier"] == "911"
    assert {f["category"] for f in triage["findings"]} == {"cardiac", "breathing"}
    assert all(f["source"] == "rules" and f["evidence"] for f in triage["findings"])


async def test_a_button_payload_is_not_triaged(nlu_agent: Any) -> None:
    parsed = await nlu_agent.parse_message("/request_booking")
    assert parsed["intent"]["name"] == "request_booking"
    assert "triage" not in parsed


def test_red_flag_reply_is_the_only_reply_that_turn(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "hello")
    replies = bot.send(sender, "I have chest pain and my left arm feels numb")
    assert [r.get("text") for r in replies if "text" in r] == [
        expected_text("utter_red_flag_emergency")
    ]
    assert {"urgent": True, "tier": "911"} in [r.get("custom") for r in replies]
    assert "911" in replies[0]["text"]


@pytest.mark.parametrize("tier,text", [
    ("911", "my wife collapsed while I was driving"),
    ("same_day", "my calf is swollen, red and hot since my flight"),
    ("crisis", "honestly there's no point living anymore"),
])
def test_each_tier_gets_its_reply(
    bot: Bot, expected_text: Callable[[str], str], tier: str, text: str
) -> None:
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "hi")
    assert texts(bot.send(sender, text)) == [expected_text(f"utter_{TIER_INTENTS[tier]}")]


def test_same_day_reply_names_811_and_when_to_call_911(bot: Bot) -> None:
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "hi")
    reply = texts(bot.send(sender, "there's pus where the needle went in and I have chills"))[0]
    assert "today" in reply and "811" in reply and "911" in reply


def test_a_red_flag_while_staff_have_the_conversation_still_gets_the_reply(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "hi")
    bot.send(sender, "I want to talk to a human")
    bot.send(sender, "skip")  # no contact details: the conversation is handed off
    assert texts(bot.send(sender, "my throat is closing up and my lips are swelling")) == [
        expected_text("utter_red_flag_emergency")]


def test_crisis_reply_gives_911_and_988(bot: Bot) -> None:
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "hi")
    reply = texts(bot.send(sender, "I don't want to live anymore"))[0]
    assert "911" in reply and "9-8-8" in reply


def test_red_flag_inside_a_long_message_is_still_caught(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    story = "I've had back pain for years and tried lots of things. " * 60
    message = story + "Since this morning I've lost control of my bladder."
    assert len(message) > 2000
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "hi")
    assert texts(bot.send(sender, message)) == [expected_text("utter_red_flag_emergency")]


def test_soreness_after_needling_is_answered_calmly(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "hi")
    replies = texts(bot.send(sender, "I'm a bit sore and bruised after needling yesterday"))
    assert replies == [expected_text("utter_faq_soreness_after")]


def test_conversation_is_flagged_urgent_in_the_log(bot: Bot) -> None:
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    bot.send(sender, "what is dry needling")
    bot.send(sender, "I fainted after my appointment")
    with sqlite3.connect(bot.tracker_db) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'slot'"
            " AND action_name = 'urgent'", (sender,)
        ).fetchall()
    assert any('"value": true' in row[0] for row in rows)


def test_red_flag_as_the_very_first_message_comes_before_the_introduction(
    bot: Bot, expected_text: Callable[[str], str]
) -> None:
    sender = f"rest:rf-{uuid.uuid4().hex[:10]}"
    replies = bot.send(sender, "I think I'm having a heart attack")
    assert replies[0]["text"] == expected_text("utter_red_flag_emergency")
    assert replies[1]["custom"] == {"urgent": True, "tier": "911"}
    # the first-contact line still comes, after the emergency reply
    assert [r.get("text") for r in replies[2:]] == [expected_text("utter_disclaimer")]


def test_urgent_first_keeps_every_message() -> None:
    from clinic_assistant.channels.common import urgent_first

    intro, text, mark = {"text": "hi"}, {"text": "call 911"}, {"custom": {"urgent": True}}
    assert urgent_first([intro, text, mark]) == [text, mark, intro]
    assert urgent_first([intro, {"text": "answer"}]) == [intro, {"text": "answer"}]
