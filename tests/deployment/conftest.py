"""The production layout in containers: deploy/docker-compose.yml started under podman
by `make deploy-test` (deploy/test/run), which sets DEPLOY_TEST_URL and the compose
project's name. Collected only then; `make test` runs the same scenarios against
processes on loopback (tests/scale/)."""
from __future__ import annotations

import json
import os
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterator, Optional

import pytest

collect_ignore_glob = [] if os.environ.get("DEPLOY_TEST_URL") else ["test_*.py"]
SEPARATOR = "\x1f"


@dataclass
class Deployment:
    url: str
    staff_url: str
    project: str
    podman: list[str]

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"

    def address(self, container: str, port: int) -> str:
        """An address of the container that takes connections on ``port`` from this
        machine (its networks' bridges are reachable from the host)."""
        import socket

        found = self.podman_run("inspect", "--format",
                                "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container).split()
        for address in found:
            try:
                socket.create_connection((address, port), timeout=2).close()
                return address
            except OSError:
                continue
        raise AssertionError(f"{container}: none of {found} takes connections on {port}")

    def container(self, service: str) -> str:
        found = subprocess.run(
            [*self.podman, "ps", "-a", "--format", "{{.Names}}",
             "--filter", f"label=io.podman.compose.project={self.project}",
             "--filter", f"label=com.docker.compose.service={service}"],
            capture_output=True, text=True, check=True, timeout=30).stdout.split()
        assert len(found) == 1, f"{service}: {found}"
        return found[0]

    def podman_run(self, *args: str, timeout: float = 60) -> str:
        return subprocess.run([*self.podman, *args], capture_output=True, text=True, check=True,
                              timeout=timeout).stdout

    def wait_healthy(self, service: str, seconds: float = 180) -> None:
        """Runs the compose file's health check until it passes (podman 4.3 runs them
        through systemd, which this machine lacks)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if subprocess.run([*self.podman, "healthcheck", "run", self.container(service)],
                              capture_output=True, timeout=30).returncode == 0:
                return
            time.sleep(2)
        raise AssertionError(f"{service} not healthy after {seconds} s")

    def sql(self, query: str) -> list[list[str]]:
        """A query run by psql inside the PostgreSQL container (it publishes no port)."""
        out = self.podman_run("exec", self.container("postgres"), "psql", "-U", "postgres", "-d", "clinic",
                              "-AtX", "-F", SEPARATOR, "-c", query)
        return [line.split(SEPARATOR) for line in out.splitlines() if line]

    def stored_turns(self, prefix: str) -> dict[str, list[tuple[str, Optional[str]]]]:
        """As tests/scale/conftest.py's stored_turns, read through psql."""
        rows = self.sql("SELECT sender_id, type_name, data FROM events WHERE sender_id LIKE "
                        f"'rest:{prefix}-%' AND type_name IN ('user', 'bot') ORDER BY id")
        stored: dict[str, list[tuple[str, Optional[str]]]] = defaultdict(list)
        for sender, kind, data in rows:
            stored[sender].append((kind, json.loads(data).get("message_id") if kind == "user" else None))
        return stored


@pytest.fixture(scope="package")
def deployment() -> Iterator[Deployment]:
    yield Deployment(os.environ["DEPLOY_TEST_URL"].rstrip("/"), os.environ["DEPLOY_TEST_STAFF_URL"].rstrip("/"),
                     os.environ["DEPLOY_TEST_PROJECT"],
                     os.environ.get("DEPLOY_TEST_PODMAN", "podman --runtime runc").split())
