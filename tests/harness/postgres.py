"""A throwaway PostgreSQL server on loopback, for the tests (Debian's package).

Started in a temporary folder on a free port, trusting local connections; stopped and
removed when the context ends. PostgreSQL refuses to run as root, so as root it runs
as the ``postgres`` user the package creates.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from tests.harness.servers import free_port


def server_binaries() -> Optional[Path]:
    """The folder with initdb and pg_ctl, or None if PostgreSQL is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PostgresServer:
    """A PostgreSQL server in a temporary folder on a loopback port."""

    def __init__(self, binaries: Path, folder: Path, port: int) -> None:
        self.binaries, self.folder, self.port = binaries, folder, port
        self.data = folder / "data"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_server_user([str(self.binaries / "pg_ctl"), "-D", str(self.data), *args]),
                       check=True, capture_output=True, timeout=90)

    def start(self) -> None:
        self._pg_ctl("-w", "-t", "60", "-l", str(self.folder / "server.log"), "-o",
                     f"-h 127.0.0.1 -p {self.port} -k {self.folder} -F", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")


@contextmanager
def running_postgres_server(database: str = "clinic_test") -> Iterator[tuple[PostgresServer, str]]:
    """Yields the server (to stop and start it) and a SQLAlchemy URL of a fresh database."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package 'postgresql')")
    folder = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    server = PostgresServer(binaries, folder, free_port())
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    try:
        subprocess.run(
            _as_server_user([str(binaries / "initdb"), "-D", str(server.data), "-U", "postgres",
                             "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )
        server.start()
        subprocess.run(
            _as_server_user([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(server.port),
                             "-U", "postgres", database]),
            check=True, capture_output=True, timeout=60,
        )
        yield server, f"postgresql://postgres@127.0.0.1:{server.port}/{database}"
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(server.data), "-m", "immediate",
                             "stop"]),
            capture_output=True, timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def running_postgres(database: str = "clinic_test") -> Iterator[str]:
    """Yields a SQLAlchemy URL of a fresh database on a new loopback server."""
    with running_postgres_server(database) as (_, url):
        yield url
