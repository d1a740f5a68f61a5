"""The staff email outbox (clinic_assistant/clinic/outbox.py, issue #17): an email waits in the
database, survives the worker being killed between attempts, and arrives once, also
with two workers at the same time. Real processes, a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from clinic_assistant.clinic import db
from tests.harness.servers import free_port

PROJECT = Path(__file__).resolve().parent.parent


def a_request(url: str, name: str) -> int:
    return db.create_booking_request(
        db.engine_for(url), conversation_id=f"web:{name}", channel="socketio", name=name,
        phone="+17805550142", email=None, preferred_times="mornings", reason="neck pain",
        patient_type="new", staff_email=lambda rid: (f"New booking request #{rid}: {name}", f"Name: {name}"))


def worker(url: str, smtp_port: int, retry: str = "1,1,1") -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "DATABASE_URL": url, "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(smtp_port), "SMTP_TLS": "none", "CLINIC_NOTIFY_EMAIL": "desk@clinic.test",
           "NOTIFY_RETRY_SECONDS": retry}
    return subprocess.Popen([sys.executable, "-m", "clinic_assistant.clinic.outbox"], cwd=PROJECT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def outbox(url: str) -> list[dict[str, Any]]:
    with db.engine_for(url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(db.email_outbox).order_by(db.email_outbox.c.id)).mappings()]


def wait_until(check: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_killed_between_attempts_then_started_again_the_email_arrives_once(
        tmp_path: Path, smtp_server: Any) -> None:
    port, inbox = smtp_server
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    request_id = a_request(url, "Priya Shah")
    before = len(inbox.messages)

    down = worker(url, free_port(), retry="3,3,3")  # nothing listens there: the first try fails
    try:
        wait_until(lambda: outbox(url)[0]["attempts"] == 1)
    finally:
        down.send_signal(signal.SIGKILL)  # between attempts: the retry lives only in the database
        down.wait(10)
    row = outbox(url)[0]
    assert row["sent_at"] is None and row["given_up_at"] is None and "ConnectionRefusedError" in row["last_error"]

    again = worker(url, port, retry="3,3,3")
    try:
        wait_until(lambda: outbox(url)[0]["sent_at"] is not None)
        time.sleep(1.5)  # a second sending would arrive by now
    finally:
        again.terminate()
        again.wait(10)
    mine = [m for m in inbox.messages[before:] if m["Subject"] == f"New booking request #{request_id}: Priya Shah"]
    assert len(mine) == 1
    assert outbox(url)[0]["attempts"] == 2
    with db.engine_for(url).connect() as conn:
        request = conn.execute(sa.select(db.booking_requests).where(db.booking_requests.c.id == request_id)).mappings().one()
    assert request["notified_at"] is not None and request["notify_attempts"] == 2


def test_two_workers_send_each_email_once(tmp_path: Path, smtp_server: Any) -> None:
    port, inbox = smtp_server
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    ids = [a_request(url, f"Patient {n}") for n in range(8)]
    before = len(inbox.messages)
    workers = [worker(url, port), worker(url, port)]
    try:
        wait_until(lambda: all(r["sent_at"] is not None for r in outbox(url)))
        time.sleep(1.5)
    finally:
        for w in workers:
            w.terminate()
            w.wait(10)
    subjects = [m["Subject"] for m in inbox.messages[before:]]
    for n, request_id in enumerate(ids):
        assert subjects.count(f"New booking request #{request_id}: Patient {n}") == 1
    assert all(r["attempts"] == 1 for r in outbox(url))


def test_a_saved_request_always_has_its_email_waiting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    request_id = a_request(url, "Sam Lee")
    (row,) = outbox(url)
    assert row["booking_request_id"] == request_id and row["sent_at"] is None and row["attempts"] == 0


def test_a_database_outage_does_not_end_the_worker(tmp_path: Path, monkeypatch: Any) -> None:
    """PostgreSQL restarting: the worker logs, waits and goes on (in containers it would
    otherwise crash and wait for its restart policy; under `make run` honcho would stop
    every server with it). tests/deployment/ checks the same against real PostgreSQL."""
    import threading

    from clinic_assistant.clinic import outbox as worker_module

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(worker_module, "OUTAGE_WAIT_SECONDS", 0.01)
    monkeypatch.setattr(worker_module, "POLL_SECONDS", 0.01)
    real_due, calls = worker_module.due, []

    def flaky_due(engine: Any) -> list[int]:
        calls.append(1)
        if len(calls) <= 2:
            raise sa.exc.OperationalError("SELECT ...", {}, ConnectionRefusedError("server closed the connection"))
        return real_due(engine)

    monkeypatch.setattr(worker_module, "due", flaky_due)
    stop = [False]
    thread = threading.Thread(target=worker_module.run_worker, args=(stop,), daemon=True)
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # not the main thread
    thread.start()
    wait_until(lambda: len(calls) >= 5)
    assert thread.is_alive()
    stop[0] = True
    thread.join(5)
    assert not thread.is_alive()
