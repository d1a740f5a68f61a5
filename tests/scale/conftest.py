"""Scale-out and fault tests: the production layout on loopback (issue #9).

PostgreSQL, Redis, one action server, two Rasa server replicas and nginx, started by
the tests (tests/harness/cluster.py) with the nginx configuration the
deployment uses. `make test` installs Redis and nginx when missing
(scripts/ensure-scale-servers); where they cannot be installed, these tests are
skipped with the reason. Traffic goes only to 127.0.0.1; every loop stops by count
and by time, and every process started here is stopped at the end.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import aiohttp
import pytest
import sqlalchemy as sa

from clinic_assistant.rasa.evaluation import load_examples
from tests.harness.cluster import Cluster, missing_servers, running_cluster
from tests.harness.servers import PROJECT

API_TOKEN = "scale-test-api-token-0123456789abcdef"
STAFF_TOKEN = "scale-test-staff-token-0123456789abcdef"
WEBSITE = "http://127.0.0.1:8080"  # the widget's origin in these tests
TWILIO_TOKEN = "twilio-auth-token-for-scale-tests"
SMS_NUMBER = "+17805550100"
CLINIC_ORIGIN = "https://www.gppainphysio.example"
RETRY_STATUSES = (502, 503, 504)


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    missing = missing_servers()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (scripts/ensure-scale-servers installs them)")
    with running_cluster(replicas=2, RASA_API_TOKEN=API_TOKEN, RASA_CORS_ORIGINS=CLINIC_ORIGIN,
                         STAFF_API_TOKEN=STAFF_TOKEN, WIDGET_ORIGINS=WEBSITE,
                         # SMS on: replies go to a closed loopback port (logged, not sent)
                         TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
                         TWILIO_SMS_NUMBER=SMS_NUMBER, TWILIO_API_BASE_URL="http://127.0.0.1:9") as running:
        yield running


def questions() -> list[str]:
    """Patients' questions the bot answers from its domain (the held-out FAQ set)."""
    examples = load_examples(PROJECT / "tests" / "nlu_eval" / "dev.yml")
    return [e.text for e in examples if e.answer.startswith("faq_")]


@dataclass
class Turn:
    conversation: str
    message_id: str
    text: str
    attempts: list[Any] = field(default_factory=list)  # status codes or error names
    replies: list[dict[str, Any]] = field(default_factory=list)
    error: Optional[dict[str, Any]] = None

    @property
    def acknowledged(self) -> bool:
        return bool(self.attempts) and self.attempts[-1] == 200


async def send_turn(session: aiohttp.ClientSession, webhook: str, turn: Turn, retry_until: float) -> Turn:
    """Sends one patient message; sends it again (same message_id) after a 502/503/504
    or a lost connection, as a client does, until ``retry_until`` (0: never)."""
    body = {"sender": turn.conversation, "message": turn.text, "message_id": turn.message_id}
    while True:
        try:
            # the conversation in the URL lets the test read nginx's log per conversation
            async with session.post(f"{webhook}?c={turn.conversation}", json=body) as answer:
                turn.attempts.append(answer.status)
                if answer.status == 200:
                    turn.replies = await answer.json()
                    return turn
                turn.error = await answer.json(content_type=None)  # JSON from the bot and from nginx
                if answer.status not in RETRY_STATUSES:
                    return turn
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            turn.attempts.append(type(error).__name__)
        if time.monotonic() > retry_until:
            return turn
        await asyncio.sleep(0.5)


async def run_conversations(
    webhook: str, conversations: int, turns: int, prefix: str, retry: bool,
    seconds: float = 240, progress: Optional[list[int]] = None, start: int = 0,
) -> list[list[Turn]]:
    """``conversations`` at once, each sending ``turns`` messages one after another
    (the next only after the answer, as a patient does). Stops by count and time."""
    texts = questions()
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=60)

    async def conversation(number: int, session: aiohttp.ClientSession) -> list[Turn]:
        done: list[Turn] = []
        for index in range(start, start + turns):
            if time.monotonic() > deadline:
                break
            turn = Turn(f"rest:{prefix}-{number}", f"{prefix}-{number}-{index}",
                        texts[(number * 7 + index) % len(texts)])
            await send_turn(session, webhook, turn, deadline if retry else 0)
            done.append(turn)
            if progress is not None:
                progress[0] += 1
            if not turn.acknowledged:
                break
        return done

    connector = aiohttp.TCPConnector(limit=conversations)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        return list(await asyncio.gather(*(conversation(n, session) for n in range(conversations))))


def stored_turns(database_url: str, prefix: str) -> dict[str, list[tuple[str, Optional[str]]]]:
    """Per conversation, its events in the tracker store in stored order, as
    ("user", message_id) and ("bot", None)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(sa.text(
                "SELECT sender_id, type_name, data FROM events WHERE sender_id LIKE :p "
                "AND type_name IN ('user', 'bot') ORDER BY id"), {"p": f"rest:{prefix}-%"}).fetchall()
    finally:
        engine.dispose()
    stored: dict[str, list[tuple[str, Optional[str]]]] = defaultdict(list)
    for sender, kind, data in rows:
        stored[sender].append((kind, json.loads(data).get("message_id") if kind == "user" else None))
    return stored


def user_message_ids(events: list[tuple[str, Optional[str]]]) -> list[Optional[str]]:
    return [message_id for kind, message_id in events if kind == "user"]


def answered_in_store(events: list[tuple[str, Optional[str]]]) -> bool:
    """Every stored patient message is followed by at least one bot reply."""
    kinds = [kind for kind, _ in events]
    return all(kinds[i + 1:i + 2] == ["bot"] for i, kind in enumerate(kinds) if kind == "user")
