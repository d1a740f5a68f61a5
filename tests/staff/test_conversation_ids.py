"""Every conversation the console lists can be opened and forgotten from the console,
whatever characters its id has (old ids, REST senders, channel-named ids)."""
from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.settings import PROJECT_ROOT
from clinic_assistant.rasa.tracker_store import UrlSQLTrackerStore
from tests.staff.conftest import NOW, bot, post_form, said

ODD_IDS = [
    "a/b", "../etc", "..", ".", "with space", "per%2Fcent", "q?x=1#frag", "back\\slash", "ünïcødé",
    "~tilde", "sms:" + "a" * 32, "web:" + "0" * 32, "+17805550123", "whatsapp:+17805550123",
]


@pytest.fixture
def odd_conversations(clinic_db: str) -> list[str]:
    store = UrlSQLTrackerStore(domain=Domain.load(str(PROJECT_ROOT / "domain")), db_url=clinic_db)

    async def save_all() -> None:
        for number, conversation_id in enumerate(ODD_IDS):
            await store.save(DialogueStateTracker.from_events(conversation_id, [
                said(f"odd question {number}", "greet", 0.9, NOW, "rest"),
                bot("Hello!", NOW),
            ]))

    asyncio.run(save_all())
    return ODD_IDS


def listed_links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="(/conversations/[^"]+)"', page)]


def test_every_listed_conversation_opens_and_can_be_forgotten(signed_in: Any, odd_conversations: list[str]) -> None:
    page = signed_in.get("/conversations?q=odd+question").get_data(as_text=True)
    links = listed_links(page)
    assert len(links) == len(ODD_IDS)
    for link in links:
        opened = signed_in.get(link)
        assert opened.status_code == 200, link
        shown = re.search(r"<h1>Conversation <code>(.*?)</code></h1>", opened.get_data(as_text=True))
        conversation_id = html.unescape(shown.group(1))
        assert conversation_id in ODD_IDS
        forgotten = post_form(signed_in, link, f"{link}/forget", {"confirm": conversation_id})
        assert forgotten.status_code == 302, link
        assert signed_in.get(link).status_code == 404, link
    assert listed_links(signed_in.get("/conversations?q=odd+question").get_data(as_text=True)) == []
