"""Faults under load: a replica killed with SIGKILL, Redis stopped, PostgreSQL stopped.

A patient's message is either answered and in the record once, or its client is told
it failed (and sending it again with the same message_id stores it once)."""
from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import pytest
import requests
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from clinic_assistant.clinic import identity
from tests.harness.cluster import Cluster
from tests.scale.conftest import (
    SMS_NUMBER,
    TWILIO_TOKEN,
    Turn,
    answered_in_store,
    run_conversations,
    stored_turns,
    user_message_ids,
)

CONVERSATIONS, TURNS = 20, 20


async def _load_and_kill(cluster: Cluster) -> list[list[Turn]]:
    progress = [0]
    load = asyncio.ensure_future(run_conversations(
        cluster.webhook, CONVERSATIONS, TURNS, "crash", retry=True, seconds=240, progress=progress))
    deadline = time.monotonic() + 120
    while progress[0] < CONVERSATIONS * TURNS // 3 and time.monotonic() < deadline and not load.done():
        await asyncio.sleep(0.05)
    assert not load.done(), "the load ended before the replica could be killed"
    await asyncio.to_thread(cluster.replicas[0].kill)  # SIGKILL, as a crash
    return await load


def test_a_replica_killed_mid_load(cluster: Cluster) -> None:
    results = asyncio.run(_load_and_kill(cluster))
    turns = [turn for conversation in results for turn in conversation]
    retried = [t for t in turns if len(t.attempts) > 1]
    print(f"\n{len(turns)} turns; {len(retried)} were sent again after "
          f"{Counter(a for t in retried for a in t.attempts[:-1])}")

    # the other replica kept answering: every turn was acknowledged in the end
    assert len(turns) == CONVERSATIONS * TURNS
    assert all(t.acknowledged for t in turns), [(t.message_id, t.attempts) for t in turns if not t.acknowledged]
    # the record has every acknowledged turn exactly once, in order, answered --
    # including turns whose first attempt died with the replica
    stored = stored_turns(cluster.database_url, "crash")
    for conversation in results:
        events = stored[conversation[0].conversation]
        assert user_message_ids(events) == [t.message_id for t in conversation]
        assert answered_in_store(events)

    # started again, the replica serves again
    cluster.replicas[0].start()
    before = len(cluster.served_by())
    results = asyncio.run(run_conversations(cluster.webhook, 4, 3, "restarted", retry=False, seconds=60))
    assert all(t.acknowledged for conversation in results for t in conversation)
    after = cluster.served_by()[before:]
    assert any(0 in tried and status == 200 for _, status, tried in after)


@pytest.mark.parametrize("outage", ["redis", "postgres"])
def test_a_store_outage_gives_clear_errors_and_loses_nothing(cluster: Cluster, outage: str) -> None:
    prefix = f"{outage}-outage"
    first = asyncio.run(run_conversations(cluster.webhook, 5, 2, prefix, retry=False, seconds=60))
    assert all(t.acknowledged for conversation in first for t in conversation)

    sms_sender, sms_sid = f"+1780555{1000 + len(outage)}", f"SM{outage}outage"
    server = cluster.redis if outage == "redis" else cluster.postgres
    server.stop()
    try:
        during = asyncio.run(run_conversations(cluster.webhook, 5, 1, f"{prefix}-during", retry=False, seconds=60))
        failed = [t for conversation in during for t in conversation]
        # a clear error the client can act on, never a 200 without an answer
        assert [t.attempts for t in failed] == [[503]] * 5
        assert all("send it again" in (t.error or {}).get("error", "") for t in failed)
        # an SMS webhook gets a 503 too (Twilio may deliver it again), not a 500
        assert sms(cluster, sms_sender, sms_sid).status_code == 503
    finally:
        server.start()

    if outage == "postgres":
        assert stored_turns(cluster.database_url, f"{prefix}-during") == {}  # nothing half-stored
    # when it is back, the same messages (same ids) go through, once each
    again = asyncio.run(_resend(cluster, failed))
    assert all(t.acknowledged for t in again)
    stored = stored_turns(cluster.database_url, f"{prefix}-during")
    assert {c: user_message_ids(e) for c, e in stored.items()} == {t.conversation: [t.message_id] for t in failed}
    assert sms(cluster, sms_sender, sms_sid).status_code == 200
    assert stored_user_message_ids(cluster, identity.address_conversation("sms", sms_sender)) == [sms_sid]
    # and conversations that were going on before the outage go on
    later = asyncio.run(run_conversations(cluster.webhook, 5, 1, prefix, retry=False, seconds=60, start=2))
    assert all(t.acknowledged for conversation in later for t in conversation)


async def _resend(cluster: Cluster, turns: list[Turn]) -> list[Turn]:
    import aiohttp

    from tests.scale.conftest import send_turn

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        fresh = [Turn(t.conversation, t.message_id, t.text) for t in turns]
        return list(await asyncio.gather(*(send_turn(session, cluster.webhook, t, time.monotonic() + 30) for t in fresh)))


def sms(cluster: Cluster, sender: str, sid: str) -> requests.Response:
    """A correctly signed Twilio SMS webhook, straight to the first replica."""
    replica = cluster.replicas[0].server
    assert replica is not None
    url = f"{replica.url}/webhooks/twilio/webhook"
    params = {"From": sender, "To": SMS_NUMBER, "Body": "what is dry needling", "MessageSid": sid}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)


def stored_user_message_ids(cluster: Cluster, sender: str) -> list[str]:
    engine = sa.create_engine(cluster.database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(sa.text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' "
                                      "ORDER BY id"), {"s": sender}).fetchall()
    finally:
        engine.dispose()
    return [json.loads(data)["message_id"] for (data,) in rows]
