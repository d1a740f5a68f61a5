"""Two Rasa replicas behind nginx sharing PostgreSQL and Redis: many patients at once,
turns of one conversation on both replicas, nothing lost, nothing twice, in order."""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest
import requests

from clinic_assistant.clinic import identity
from tests.harness.cluster import Cluster
from tests.scale.conftest import (
    API_TOKEN,
    CLINIC_ORIGIN,
    STAFF_TOKEN,
    WEBSITE,
    answered_in_store,
    run_conversations,
    stored_turns,
    user_message_ids,
)

CONVERSATIONS, TURNS = 50, 20


def test_fifty_conversations_of_twenty_turns_across_both_replicas(cluster: Cluster) -> None:
    started = time.monotonic()
    results = asyncio.run(run_conversations(cluster.webhook, CONVERSATIONS, TURNS, "load", retry=False))
    seconds = time.monotonic() - started
    turns = [turn for conversation in results for turn in conversation]
    print(f"\n{len(turns)} turns in {seconds:.1f} s ({len(turns) / seconds:.0f} per second) through nginx")

    # no error, every turn answered
    assert len(turns) == CONVERSATIONS * TURNS
    failed = [(t.message_id, t.attempts, t.error) for t in turns if not t.acknowledged]
    assert not failed
    assert all(any(reply.get("text") for reply in t.replies) for t in turns)

    # both replicas served, and every conversation had turns on both
    replicas_of: dict[str, set[int]] = defaultdict(set)
    for uri, status, tried in cluster.served_by():
        if "?c=rest:load-" in uri:
            assert status == 200
            replicas_of[uri.split("?c=")[1]].update(tried)
    assert len(replicas_of) == CONVERSATIONS
    assert all(replicas == {0, 1} for replicas in replicas_of.values()), replicas_of

    # the record: every turn once, in the order sent, each answered
    stored = stored_turns(cluster.database_url, "load")
    assert len(stored) == CONVERSATIONS
    for conversation in results:
        events = stored[conversation[0].conversation]
        assert user_message_ids(events) == [t.message_id for t in conversation]
        assert answered_in_store(events)


def test_the_rasa_http_api_needs_the_token(cluster: Cluster) -> None:
    replica = cluster.replicas[0].server
    assert replica is not None
    tracker = f"{replica.url}/conversations/rest:load-0/tracker"
    assert requests.get(tracker, timeout=10).status_code == 401
    assert requests.get(tracker, params={"token": "wrong-token-wrong-token-wrong"}, timeout=10).status_code == 401
    answer = requests.get(tracker, params={"token": API_TOKEN}, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["sender_id"] == "rest:load-0"
    # the proxy does not publish the API, nor the staff channel
    assert requests.get(f"{cluster.url}/conversations/rest:load-0/tracker", params={"token": API_TOKEN},
                        timeout=10).status_code != 200
    assert requests.post(f"{cluster.url}/webhooks/staff/reply", json={}, timeout=10).status_code == 404


def test_only_the_configured_origin_may_call_the_bot_from_a_browser(cluster: Cluster) -> None:
    replica = cluster.replicas[0].server
    assert replica is not None
    allowed = requests.get(f"{replica.url}/", headers={"Origin": CLINIC_ORIGIN}, timeout=10)
    assert allowed.headers.get("Access-Control-Allow-Origin") == CLINIC_ORIGIN
    other = requests.get(f"{replica.url}/", headers={"Origin": "https://elsewhere.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_staff_reply_reaches_a_widget_connected_to_the_other_replica(cluster: Cluster) -> None:
    """Replicas share socket.io rooms through Redis: the console's reply may go through
    any replica, the patient's widget is connected to one."""
    from tests.test_socketio_channel import Patient

    first, second = (replica.server for replica in cluster.replicas)
    assert first is not None and second is not None
    async def scenario() -> list[dict]:
        async with Patient(second.url, origin=WEBSITE) as patient:
            session = await patient.start()
            await patient.say(session, "I'd like to talk to a person")
            answer = await asyncio.to_thread(
                requests.post, f"{first.url}/webhooks/staff/reply", timeout=30,
                headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
                json={"conversation_id": identity.web_conversation(session), "text": "Hi, this is Anna.",
                      "staff_name": "Anna"})
            assert answer.status_code == 200, answer.text
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if any("Hi, this is Anna." in (r.get("text") or "") for r in patient.replies()):
                    break
                await asyncio.sleep(0.1)
            return patient.replies()

    replies = asyncio.run(scenario())
    staff = [r for r in replies if "Hi, this is Anna." in (r.get("text") or "")]
    assert staff, replies
    assert staff[0]["custom"]["from_staff"]["name"] == "Anna"


def test_the_widget_connects_through_the_proxy(cluster: Cluster) -> None:
    """socket.io (websocket upgrade) through nginx's /socket.io/ location."""
    from tests.test_socketio_channel import Patient

    async def scenario() -> tuple[dict, list[dict]]:
        async with Patient(cluster.url, origin=WEBSITE) as patient:
            session = await patient.start()
            ack = await patient.say(session, "what is dry needling")
            deadline = time.monotonic() + 15
            while len(patient.replies()) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            return ack, patient.replies()

    ack, replies = asyncio.run(scenario())
    assert ack["ok"] is True
    assert any("Dry needling" in (r.get("text") or "") for r in replies), replies


def test_redis_refuses_a_client_without_the_password(cluster: Cluster) -> None:
    """The replicas' Redis (conversation locks, widget rooms) asks for a password, as
    in production: reaching its port is not enough to read or write a lock."""
    import redis

    address = {"host": "127.0.0.1", "port": cluster.redis.port, "socket_timeout": 5}
    for client in (redis.Redis(**address), redis.Redis(password="not-the-password", **address)):
        with pytest.raises(redis.AuthenticationError):  # NOAUTH / WRONGPASS
            client.set("clinic:lock:someone", "{}")
        client.close()
    # the replicas' URL carries it, and it works
    assert cluster.redis.url.startswith(f"redis://:{cluster.redis.password}@127.0.0.1:")
    with redis.Redis.from_url(cluster.redis.url, socket_timeout=5) as client:
        assert client.ping()
