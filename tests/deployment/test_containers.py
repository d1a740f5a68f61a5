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
import subprocess
import threading
import time
import uuid
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
    failed = [(t.message_id, t.attempts, t.error) for t in done if not t.acknowledged]
    assert len(done) == conversations * turns, failed[:5]  # a conversation stops at its first failed turn
    assert not failed
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


def test_a_staff_reply_from_the_console_reaches_a_widget_on_the_other_replica(deployment: Deployment) -> None:
    """The console sends replies through rasa-1; the patient's widget is connected to
    rasa-2 (to its own address: stopping rasa-1 to steer nginx made podman rewire the
    networks while the widget was connected, and the test failed on that, not on the
    reply): the reply crosses through Redis's rooms."""
    from clinic_assistant.clinic import identity
    from tests.test_socketio_channel import Patient

    password = "container-test-" + "p" * 16
    username = f"tester-{uuid.uuid4().hex[:8]}"  # its own, so the test can be run again on one layout
    subprocess.run([*deployment.podman, "exec", "-i", deployment.container("staff"), "python", "-m", "staff",
                    "create-user", username, "--role", "front_desk", "--name", "Tess", "--password-stdin"],
                   input=password, text=True, capture_output=True, check=True, timeout=60)
    console = requests.Session()
    page = console.get(f"{deployment.staff_url}/login", timeout=10)
    signed_in = console.post(f"{deployment.staff_url}/login", timeout=10, data={
        "username": username, "password": password, "csrf_token": _csrf(page.text)})
    assert signed_in.status_code == 200 and signed_in.url.endswith("/conversations"), signed_in.url

    second = f"http://{deployment.address(deployment.container('rasa-2'), 5005)}:5005"

    async def scenario() -> list[dict[str, Any]]:
        patient = Patient(second, origin=deployment.url)
        await patient.__aenter__()
        try:
            session = await patient.start()
            await patient.say(session, "I'd like to talk to a person")
            conversation = identity.web_conversation(session)
            page = await asyncio.to_thread(console.get, f"{deployment.staff_url}/conversations/{conversation}",
                                           timeout=10)
            assert page.status_code == 200, page.status_code
            sent = await asyncio.to_thread(
                console.post, f"{deployment.staff_url}/conversations/{conversation}/reply", timeout=30,
                data={"text": "Hi, this is Tess at the front desk.", "csrf_token": _csrf(page.text)})
            assert sent.status_code == 200 and 'class="flash error"' not in sent.text, sent.text[:500]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if any("this is Tess" in (r.get("text") or "") for r in patient.replies()):
                    break
                await asyncio.sleep(0.2)
            return patient.replies()
        finally:
            await patient.__aexit__(None, None, None)

    replies = asyncio.run(scenario())
    staff = [r for r in replies if "this is Tess" in (r.get("text") or "")]
    assert staff, replies
    assert staff[0]["custom"]["from_staff"]["name"] == "Tess"


def _csrf(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


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
    # restart: unless-stopped brings the killed replica back, and nginx reaches it: with
    # the other replica stopped, every turn is answered by the restarted one
    deployment.wait_healthy("rasa-1")
    other = deployment.container("rasa-2")
    deployment.podman_run("stop", "--time", "5", other)
    try:
        # podman rewires the networks when a container stops; the claim is about the
        # restarted replica, so it starts once nginx has answered three times in a row
        # (at most 30 s)
        deadline = time.monotonic() + 30
        settled: list[object] = []  # what each settling request got, for the failure message
        while time.monotonic() < deadline and settled[-3:] != [200, 200, 200]:
            try:
                settled.append(requests.post(deployment.webhook, json={
                    "sender": f"rest:settle-{uuid.uuid4().hex[:8]}", "message": "hello"}, timeout=10).status_code)
            except requests.RequestException as error:
                settled.append(type(error).__name__)
            if settled[-1] != 200:
                time.sleep(0.5)
        # A client sends a message again, with the same message_id, after a 502 (nginx's
        # reply when a replica could not be reached). Sent once only, turns of this run
        # went unanswered in two CI runs (2026-12-04; in one, nginx's throughput was a
        # third of a quiet run's) and answered in the reruns. The claim stays the
        # restarted replica's: with rasa-2 stopped, every turn is answered within the
        # run's minute, once, and stored once (check_record).
        alone = asyncio.run(run_conversations(deployment.webhook, 3, 3, "restarted", retry=True, seconds=60))
    finally:
        deployment.podman_run("start", other)
    deployment.wait_healthy("rasa-2")
    failed = [(t.message_id, t.attempts, t.error, t.replies) for c in alone for t in c
              if not (t.acknowledged and any(r.get("text") for r in t.replies))]
    assert not failed, (settled, failed)
    assert sum(len(c) for c in alone) == 9, (settled, [[t.attempts for t in c] for c in alone])
    check_record(deployment, alone, "restarted")


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
    worker = deployment.container("outbox")
    restarts = deployment.podman_run("inspect", "--format", "{{.RestartCount}}", worker).strip()
    outage(deployment, "postgres", "pgdown")
    # the email outbox worker waited the outage out: still running, never restarted
    state = deployment.podman_run("inspect", "--format", "{{.State.Status}} {{.RestartCount}}", worker).split()
    assert state == ["running", restarts]


def test_redis_stopped_and_started(deployment: Deployment) -> None:
    outage(deployment, "redis", "redisdown")
