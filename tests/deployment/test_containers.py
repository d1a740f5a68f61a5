"""The scale-out and fault scenarios of tests/scale/, against the containers of
deploy/docker-compose.yml (issue #18): many patients through nginx, a Rasa container
killed mid-load, PostgreSQL and Redis stopped and started, the widget through the
proxy. Same guarantees: every turn stored once and in order, nothing lost, 503 "send
it again" during an outage, never a 200 without the answer."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import requests

from tests.deployment.conftest import Deployment
from tests.scale.conftest import Turn, answered_in_store, run_conversations, send_turn, user_message_ids


def measured(name: str, value: Any) -> None:
    """A figure for the deployment report (deploy/test/run writes it out)."""
    path = Path(os.environ["DEPLOY_TEST_REPORT"])
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=2))


def check_record(deployment: Deployment, results: list[list[Turn]], prefix: str) -> None:
    stored = deployment.stored_turns(prefix)
    for conversation in results:
        events = stored[conversation[0].conversation]
        assert user_message_ids(events) == [t.message_id for t in conversation if t.acknowledged]
        assert answered_in_store(events)


def load(deployment: Deployment, conversations: int, turns: int, prefix: str) -> None:
    started = time.monotonic()
    results = asyncio.run(run_conversations(deployment.webhook, conversations, turns, prefix, retry=False))
    seconds = time.monotonic() - started
    done = [turn for conversation in results for turn in conversation]
    measured(f"throughput_{conversations}_conversations", {
        "turns": len(done), "seconds": round(seconds, 1), "turns_per_second": round(len(done) / seconds, 1)})
    assert len(done) == conversations * turns
    assert not [(t.message_id, t.attempts, t.error) for t in done if not t.acknowledged]
    assert all(any(reply.get("text") for reply in t.replies) for t in done)
    check_record(deployment, results, prefix)


def test_the_widget_through_the_proxy(deployment: Deployment) -> None:
    page = requests.get(f"{deployment.url}/", timeout=10)
    assert page.status_code == 200 and "clinic-chat" in page.text
    handshake = requests.get(f"{deployment.url}/socket.io/", params={"EIO": "4", "transport": "polling"},
                             headers={"Origin": deployment.url}, timeout=10)
    assert handshake.status_code == 200 and '"sid"' in handshake.text


def test_ten_conversations_through_nginx(deployment: Deployment) -> None:
    load(deployment, 10, 20, "ten")


def test_fifty_conversations_of_twenty_turns_through_nginx(deployment: Deployment) -> None:
    load(deployment, 50, 20, "fifty")


def test_a_rasa_container_killed_mid_load_loses_nothing(deployment: Deployment) -> None:
    container = deployment.container("rasa-1")
    progress = [0]
    outcome: list[list[list[Turn]]] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(run_conversations(
        deployment.webhook, 20, 10, "crash", retry=True, seconds=180, progress=progress))))
    runner.start()
    deadline = time.monotonic() + 60
    while progress[0] < 40 and time.monotonic() < deadline:
        time.sleep(0.1)
    # SIGKILL to the container's process from the host, as a crash or the kernel's OOM
    # killer would (`podman kill` counts as the operator's stop: no restart follows)
    os.kill(int(deployment.podman_run("inspect", "--format", "{{.State.Pid}}", container)), signal.SIGKILL)
    runner.join(240)
    assert not runner.is_alive()
    turns = [turn for conversation in outcome[0] for turn in conversation]
    assert len(turns) == 200
    assert all(t.acknowledged and any(r.get("text") for r in t.replies) for t in turns)
    check_record(deployment, outcome[0], "crash")
    # restart: unless-stopped brings the killed replica back
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = deployment.podman_run("inspect", "--format", "{{.State.Status}}", container).strip()
        if state == "running":
            break
        time.sleep(1)
    assert state == "running"


def outage(deployment: Deployment, service: str, prefix: str) -> None:
    """Stops ``service``: a patient's message gets 503 (never a 200 without its answer)
    and nothing is half-stored; started again, the same message is answered once."""
    container = deployment.container(service)
    deployment.podman_run("stop", "--time", "5", container)
    try:
        turn = Turn(f"rest:{prefix}-0", f"{prefix}-0-0", "Does dry needling hurt?")
        with requests.Session() as session:
            answer = session.post(deployment.webhook, json={"sender": turn.conversation, "message": turn.text,
                                                            "message_id": turn.message_id}, timeout=30)
        assert answer.status_code in (502, 503, 504), answer.text
        assert "again" in answer.text.lower() or answer.status_code != 503
    finally:
        deployment.podman_run("start", container)
    results = asyncio.run(_again(deployment, turn))
    assert results.acknowledged and any(r.get("text") for r in results.replies)
    check_record(deployment, [[results]], prefix)


async def _again(deployment: Deployment, turn: Turn) -> Turn:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        return await send_turn(session, deployment.webhook, Turn(turn.conversation, turn.message_id, turn.text),
                               time.monotonic() + 120)


def test_postgresql_stopped_and_started(deployment: Deployment) -> None:
    outage(deployment, "postgres", "pgdown")


def test_redis_stopped_and_started(deployment: Deployment) -> None:
    outage(deployment, "redis", "redisdown")
