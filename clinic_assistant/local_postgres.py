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

from clinic_assistant.local_servers import free_port


def server_binaries() -> Optional[Path]:
    """The folder with initdb and pg_ctl, or None if PostgreSQL is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def running_postgres(database: str = "clinic_test") -> Iterator[str]:
    """Yields a SQLAlchemy URL of a fresh database on a new loopback server."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package 'postgresql')")
    folder = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    data = folder / "data"
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    try:
        subprocess.run(
            _as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", "postgres",
                             "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-w", "-t", "60",
                             "-l", str(folder / "server.log"), "-o",
                             f"-h 127.0.0.1 -p {port} -k {folder} -F", "start"]),
            check=True, capture_output=True, timeout=90,
        )
        subprocess.run(
            _as_server_user([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                             "-U", "postgres", database]),
            check=True, capture_output=True, timeout=60,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                             "stop"]),
            capture_output=True, timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)
