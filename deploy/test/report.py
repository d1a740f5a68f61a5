"""Writes `make deploy-test`'s figures (deploy/test/run) as bench/latest/deploy.md."""
from __future__ import annotations

import argparse
import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None


def _memory(rows: Any, project: str) -> dict[str, str]:
    found = {}
    for row in rows or []:
        name = str(row.get("name") or row.get("Name") or "")
        if name.startswith(project):
            service = name[len(project) + 1:].rsplit("_", 1)[0]
            found[service] = str(row.get("mem_usage") or row.get("MemUsage") or "?").split(" / ")[0]
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tests-passed", required=True)
    args = parser.parse_args()
    figures = _load(args.work / "figures.json") or {}
    rest, load = _memory(_load(args.work / "stats-rest.json"), args.project), _memory(
        _load(args.work / "stats-load.json"), args.project)
    lines = [
        "# The container deployment, measured by `make deploy-test`",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}; deploy/docker-compose.yml under "
        f"podman-compose 1.6.0 (runc), local base images (deploy/images/). Tests in tests/deployment/ "
        f"passed: **{args.tests_passed}**.",
        "",
        f"- cold start, servers started to the first answer through nginx: **{figures.get('cold_start_seconds', '?')} s**",
    ]
    for conversations in (10, 50):
        row = figures.get(f"throughput_{conversations}_conversations")
        if row:
            lines.append(f"- throughput through nginx, {conversations} conversations at once: "
                         f"**{row['turns_per_second']} turns/s** ({row['turns']} turns in {row['seconds']} s)")
    lines += ["", "| container | memory at rest | memory after the load and faults |", "| --- | --- | --- |"]
    lines += [f"| {service} | {rest.get(service, '?')} | {load.get(service, '?')} |"
              for service in sorted(set(rest) | set(load))]
    lines += ["", "| image | size |", "| --- | --- |"]
    for image in _load(args.work / "images.json") or []:
        names = image.get("Names") or image.get("names") or []
        for name in names:
            if "clinic" in name:
                lines.append(f"| {name} | {int(image.get('Size') or image.get('size') or 0) / 1e6:.0f} MB |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
