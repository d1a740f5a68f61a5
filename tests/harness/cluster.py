"""The production layout on loopback, for the scale-out tests and the benchmark.

PostgreSQL (tracker store), Redis (lock store), one action server, several Rasa
server replicas and nginx in front of them, with the nginx configuration rendered
from the same templates docker-compose.yml uses (deploy/nginx/). Redis asks for a
password made for the run, as in production. Every server listens on 127.0.0.1 only
and is stopped when the context ends.
Redis and nginx come from Debian's packages (scripts/ensure-scale-servers).
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from tests.harness.postgres import PostgresServer, running_postgres_server
from tests.harness.servers import PROJECT, Server, free_port, start_action_server, start_rasa_server

NGINX_TEMPLATE = PROJECT / "deploy" / "nginx" / "clinic.conf.template"
STAFF_NGINX_TEMPLATE = PROJECT / "deploy" / "nginx" / "staff.conf.template"
# the REST channel through the proxy: the load of these tests goes through it, from
# loopback; docker-compose.yml lets nobody in
REST_ACCESS = "allow 127.0.0.1; deny all;"
# a replica killed in the middle of a turn holds its conversation's lock this long
TICKET_LOCK_LIFETIME = "20"


def nginx_binary() -> Optional[str]:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def redis_binary() -> Optional[str]:
    return shutil.which("redis-server")


def missing_servers() -> list[str]:
    """Which of the servers this layout needs are not installed."""
    from tests.harness.postgres import server_binaries

    missing = [name for name, found in (("redis-server", redis_binary()), ("nginx", nginx_binary())) if not found]
    return missing + ([] if server_binaries() else ["postgresql"])


def render_template(template: str, values: dict[str, str]) -> str:
    """Fills ``${NAME}`` for the given names only (as envsubst with a variable list)."""
    def fill(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))
    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)\}", fill, template)


def _wait_for_port(port: int, seconds: float = 20) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {seconds}s")


class LoopbackProcess:
    """A server process listening on ``port`` on 127.0.0.1; stopped and started again
    by the fault tests."""

    folder: Path
    port: int
    process: Optional[subprocess.Popen[bytes]] = None

    def launch(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class RedisServer(LoopbackProcess):
    """redis-server on a loopback port, no persistence, with a password made for the
    run (in a configuration file only its owner reads, not on the command line)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.password = secrets.token_hex(24)
        self.config = folder / "redis.conf"
        self.config.touch(mode=0o600)
        self.config.write_text(f"requirepass {self.password}\n")

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/1"

    def start(self) -> None:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package 'redis-server')")
        self.launch([binary, str(self.config), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no"])


class NginxProxy(LoopbackProcess):
    """nginx with the deployment's configuration, public and staff ports on loopback
    (docker-compose.yml runs the two in two containers)."""

    def __init__(self, folder: Path, rasa_ports: list[int], widget_port: int, staff_port: int,
                 rest_access: str = REST_ACCESS) -> None:
        self.folder, self.port, self.staff_port = folder, free_port(), free_port()
        conf = render_template(NGINX_TEMPLATE.read_text(), {
            "RASA_SERVERS": " ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in rasa_ports),
            "WIDGET_SERVER": f"127.0.0.1:{widget_port}",
            "PUBLIC_LISTEN": f"127.0.0.1:{self.port}",
            "REST_ACCESS": rest_access,
        }) + render_template(STAFF_NGINX_TEMPLATE.read_text(), {
            "STAFF_SERVER": f"127.0.0.1:{staff_port}",
            "STAFF_LISTEN": f"127.0.0.1:{self.staff_port}",
        })
        (folder / "clinic.conf").write_text(conf)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  log_format clinic '$request_uri $status $upstream_addr';\n"
            f"  access_log {folder}/access.log clinic;\n"
            + "".join(f"  {kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"  include {folder}/clinic.conf;\n}}\n"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (Debian package 'nginx-light')")
        check = subprocess.run([binary, "-t", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration:\n{check.stderr}")
        self.launch([binary, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"), "-g", "daemon off;"])


@dataclass
class Replica:
    """One Rasa server replica: killed and started again by the fault tests."""

    port: int
    name: str
    start_args: dict[str, Any]
    stack: ExitStack = field(default_factory=ExitStack)
    server: Optional[Server] = None

    def start(self) -> None:
        self.server = self.stack.enter_context(start_rasa_server(self.port, name=self.name, **self.start_args))

    def kill(self) -> None:
        assert self.server is not None
        self.server.kill()


@dataclass
class Cluster:
    url: str
    database_url: str
    postgres: PostgresServer
    redis: RedisServer
    proxy: NginxProxy
    replicas: list[Replica]
    actions: Server

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"

    def served_by(self) -> list[tuple[str, int, list[int]]]:
        """(request URI, status, replica numbers tried) per request nginx logged; the
        replica numbers are indexes into ``replicas``."""
        ports = {str(replica.port): index for index, replica in enumerate(self.replicas)}
        rows = []
        for line in (self.proxy.folder / "access.log").read_text().splitlines():
            uri, status, upstreams = line.split(" ", 2)
            tried = [ports[port] for port in re.findall(r":(\d+)", upstreams) if port in ports]
            rows.append((uri, int(status), tried))
        return rows


@contextmanager
def running_cluster(replicas: int = 2, **rasa_env: str) -> Iterator[Cluster]:
    """PostgreSQL, Redis, an action server, ``replicas`` Rasa servers and nginx."""
    missing = missing_servers()
    if missing:
        raise RuntimeError(f"not installed: {', '.join(missing)} (scripts/ensure-scale-servers)")
    folder = Path(tempfile.mkdtemp(prefix="clinic-cluster-"))
    os.chmod(folder, 0o755)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, True)
        postgres, database_url = stack.enter_context(running_postgres_server("clinic"))
        redis = RedisServer(folder)
        redis.start()
        stack.callback(redis.stop)
        action_port = free_port()
        actions = stack.enter_context(start_action_server(action_port, DATABASE_URL=database_url))
        start_args = dict(
            action_port=action_port, tracker_db=folder / "unused.db", database_url=database_url,
            LOCK_STORE_URL=redis.url, TICKET_LOCK_LIFETIME=TICKET_LOCK_LIFETIME, **rasa_env,
        )
        members = [Replica(free_port(), f"rasa-replica-{i + 1}", start_args) for i in range(replicas)]
        for member in members:
            stack.callback(member.stack.close)
            member.start()
        proxy = NginxProxy(folder, [m.port for m in members], widget_port=free_port(), staff_port=free_port())
        proxy.start()
        stack.callback(proxy.stop)
        yield Cluster(proxy.url, database_url, postgres, redis, proxy, members, actions)
