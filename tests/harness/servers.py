"""Starts the real Rasa server and action server on free loopback ports.

Used by the end-to-end tests and the benchmarks (never by `make run`, which uses
the Procfile).

Every process started here is stopped when its context ends; logs go to
tests/artifacts/logs/ so a failing test can be read.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import requests

PROJECT = Path(__file__).resolve().parent.parent.parent
MODEL = PROJECT / "models" / "clinic.tar.gz"
LOGS = PROJECT / "tests" / "artifacts" / "logs"
START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_RUN_SECRET = secrets.token_urlsafe(48)


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LOCK_STORE_URL", "memory://")
    # these throwaway servers key their conversation ids with this process's secret
    # unless one is set (make sets this machine's; the tests set one per run)
    env.setdefault("CONVERSATION_ID_SECRET", _RUN_SECRET)
    env.update(
        PYTHONPATH=str(PROJECT),
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    env.update(extra)
    return env


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def rss_bytes(self) -> int:
        """Resident memory of the server process and its children (Linux /proc)."""
        return _rss_bytes(self.process.pid)

    def anonymous_bytes(self) -> int:
        """Memory the process allocated itself (heap and anonymous maps), leaving out
        the shared-library pages that RSS also counts and the kernel can drop."""
        try:
            for line in Path(f"/proc/{self.process.pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Anonymous:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def kill(self) -> None:
        """Stops the process at once, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def _rss_bytes(pid: int) -> int:
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(_rss_bytes(int(child)) for child in children)


@contextmanager
def started(
    name: str, command: list[str], env: dict[str, str], url: str, ready_path: str
) -> Iterator[Server]:
    ready_url = url + ready_path
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{name}.log"
    with open(log_path, "ab") as log:
        log.write(f"\n===== {time.strftime('%H:%M:%S')} {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(name, url, process, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
            try:
                if requests.get(ready_url, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {START_TIMEOUT}s:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        server.stop()


def start_action_server(port: int, **env: str) -> Any:
    return started(
        "actions",
        [sys.executable, "-m", "rasa", "run", "actions", "--actions", "actions",
         "--port", str(port)],
        base_env(SANIC_HOST="127.0.0.1", **env),
        f"http://127.0.0.1:{port}",
        "/health",
    )


def rasa_server_command(port: int, model: Path | None = None) -> list[str]:
    """The Rasa server as `make run` starts it, on 127.0.0.1:port."""
    return [sys.executable, "-m", "clinic_assistant.rasa.server", "--model", str(model or MODEL),
            "--interface", "127.0.0.1", "--port", str(port),
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"]


def start_rasa_server(
    port: int, action_port: int, tracker_db: Path, action_url: str | None = None,
    database_url: str | None = None, model: Path | None = None, name: str = "rasa", **env: str
) -> Any:
    return started(
        name,
        rasa_server_command(port, model),
        base_env(
            ACTION_SERVER_URL=action_url or f"http://127.0.0.1:{action_port}/webhook",
            DATABASE_URL=database_url or f"sqlite:///{tracker_db}",
            **env,
        ),
        f"http://127.0.0.1:{port}",
        "/",
    )


@dataclass
class Bot:
    """A running assistant: Rasa server plus action server."""

    rasa: Server
    actions: Server
    tracker_db: Path

    @property
    def webhook(self) -> str:
        return f"{self.rasa.url}/webhooks/rest/webhook"

    def post(self, sender: str, message: Any, timeout: float = 30) -> requests.Response:
        return requests.post(
            self.webhook, json={"sender": sender, "message": message}, timeout=timeout
        )

    def user_texts(self, conversation_id: str) -> list[str]:
        """The patient's messages of a conversation as the tracker store (SQLite) holds them."""
        import json
        import sqlite3

        with sqlite3.connect(self.tracker_db) as db:
            rows = db.execute(
                "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [json.loads(data)["text"] for (data,) in rows]

    def send(self, sender: str, message: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Sends one message over REST; returns the bot's replies."""
        response = self.post(sender, message, timeout=timeout)
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
        return list(response.json())


@contextmanager
def running_bot(tracker_db: Path, database_url: str | None = None,
                rasa_env: dict[str, str] | None = None, rasa_port: int | None = None,
                model: Path | None = None, **action_env: str) -> Iterator[Bot]:
    """Both servers on free loopback ports, sharing one database (the SQLite file
    ``tracker_db``, or ``database_url``); ``action_env`` goes to the action server's
    environment (e.g. SMTP settings), ``rasa_env`` to the Rasa server's."""
    action_port, rasa_port = free_port(), rasa_port or free_port()
    url = database_url or f"sqlite:///{tracker_db}"
    with ExitStack() as stack:
        # both servers use the same database: conversations and the project's tables
        actions = stack.enter_context(
            start_action_server(action_port, DATABASE_URL=url, **action_env)
        )
        rasa = stack.enter_context(
            start_rasa_server(rasa_port, action_port, tracker_db, database_url=url,
                              model=model, **(rasa_env or {}))
        )
        yield Bot(rasa=rasa, actions=actions, tracker_db=tracker_db)


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies if "text" in r]
