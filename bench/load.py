"""Reply latency and throughput over REST at 1, 10 and 50 concurrent conversations,
for FAQ turns and for turns that run a custom action; memory before and after a long
run; cold start. Traffic goes only to the bot on 127.0.0.1, bounded by count and time."""
from __future__ import annotations

import asyncio
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import requests

from clinic_assistant.rasa.evaluation import load_examples
from tests.harness.servers import PROJECT, Bot, base_env, free_port, rasa_server_command

HELDOUT = PROJECT / "tests" / "nlu_eval" / "dev.yml"
MAX_SECONDS_PER_RUN = 600


def turns() -> dict[str, list[str]]:
    examples = load_examples(HELDOUT)
    return {
        # FAQ answers come from the domain: no custom action
        "faq": [e.text for e in examples if e.answer.startswith("faq_")],
        # condition questions run action_answer_condition on the action server
        "action": [e.text for e in examples if e.answer.startswith("condition/")],
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


# One request's limit; a request over it counts as failed (it stopped `make bench` on
# 2026-12-04, when a request to Rasa's default pipeline took longer).
REQUEST_TIMEOUT_SECONDS = 60


async def _run(url: str, messages: list[str], concurrency: int, total: int, prefix: str,
               per_conversation: int = 10) -> dict[str, Any]:
    """``total`` messages from ``concurrency`` conversations at once, each conversation
    sending its turns one after another (a new conversation every ``per_conversation``)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    deadline = time.monotonic() + MAX_SECONDS_PER_RUN

    async def conversation(worker: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        sent = 0
        for index in counter:
            if time.monotonic() > deadline:
                return
            # REST conversation names are letters, digits, ".", "_", "-" (clinic_assistant/clinic/identity.py)
            sender = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{prefix}-{worker}-{sent // per_conversation}")
            text = messages[index % len(messages)]
            started = time.perf_counter()
            try:
                async with session.post(url, json={"sender": sender, "message": text}) as answer:
                    body = await answer.json()
                    if answer.status != 200 or not body:
                        errors += 1
            except (aiohttp.ClientError, asyncio.TimeoutError):  # a request that timed out failed
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)
            sent += 1

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(conversation(w, session) for w in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "concurrency": concurrency, "messages": len(latencies), "errors": errors,
        "p50_ms": statistics.median(latencies), "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99), "throughput_per_s": len(latencies) / wall,
    }


@dataclass
class ClusterTarget:
    """The replicas behind nginx, driven like a single bot."""

    webhook: str

    def send(self, sender: str, message: str) -> list[dict[str, Any]]:
        answer = requests.post(self.webhook, json={"sender": sender, "message": message}, timeout=30)
        answer.raise_for_status()
        return list(answer.json())


def latency_table(bot: Bot | ClusterTarget, label: str, levels: tuple[int, ...] = (1, 10, 50),
                  per_level: dict[int, int] | None = None) -> list[dict[str, Any]]:
    per_level = per_level or {1: 200, 10: 400, 50: 600}
    rows = []
    for kind, messages in turns().items():
        for level in levels:
            result = asyncio.run(_run(bot.webhook, messages, level, per_level[level], f"{label}-{kind}-{level}"))
            rows.append({"bot": label, "turn": kind, **result})
    return rows


def warm_up(bot: Bot | ClusterTarget) -> None:
    for kind, messages in turns().items():
        for i in range(20):
            bot.send(f"warmup-{kind}-{i % 3}", messages[i % len(messages)])


def memory_growth(bot: Bot, messages: int = 5000) -> dict[str, Any]:
    """RSS of both servers after warm-up and after ``messages`` more (10 at a time)."""
    warm_up(bot)
    before = {"rasa_mb": bot.rasa.rss_bytes() / 2**20, "actions_mb": bot.actions.rss_bytes() / 2**20}
    mixed = [t for pair in zip(turns()["faq"], turns()["action"] * 4, strict=False) for t in pair]
    run = asyncio.run(_run(bot.webhook, mixed, 10, messages, "soak"))
    after = {"rasa_mb": bot.rasa.rss_bytes() / 2**20, "actions_mb": bot.actions.rss_bytes() / 2**20}
    anonymous = {"rasa_mb": bot.rasa.anonymous_bytes() / 2**20, "actions_mb": bot.actions.anonymous_bytes() / 2**20}
    return {
        "messages": run["messages"], "errors": run["errors"], "before": before, "after": after,
        "anonymous_after": anonymous,
        "growth": {k: (after[k] - before[k]) / before[k] for k in before},
    }


def cold_start(model: Path, tracker_db: Path, action_url: str) -> float:
    """Seconds from starting the Rasa server to its first answer."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        rasa_server_command(port, model), cwd=PROJECT, env=base_env(DATABASE_URL=f"sqlite:///{tracker_db}", ACTION_SERVER_URL=action_url),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while time.monotonic() - started < 180:
            try:
                answer = requests.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                       json={"sender": "cold", "message": "What is dry needling?"}, timeout=5)
                if answer.status_code == 200 and answer.json():
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("the Rasa server did not answer within 180 s")
    finally:
        process.terminate()
        process.wait(15)
