"""Reply latency and memory of the running bot over REST (issue #2's benchmark).

    make bench-latency

Starts the real Rasa server and action server on loopback (the same configuration
as `make run`, with a throwaway SQLite tracker store), warms them up, then sends 200
FAQ questions one after another and prints p50/p95 reply latency and the Rasa
server's resident memory, with PASS/MISS against the targets. Results are also
written to bench/results/latency-<timestamp>.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from clinic_assistant.rasa.evaluation import load_examples
from bench.load import percentile
from tests.harness.servers import PROJECT, running_bot

TARGETS = {"p50_ms": 20.0, "p95_ms": 40.0, "rss_mb": 800.0}
RESULTS = PROJECT / "bench" / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--per-conversation", type=int, default=20)
    args = parser.parse_args(argv)

    questions = [
        e.text for e in load_examples(PROJECT / "tests" / "nlu_eval" / "dev.yml")
        if e.answer.startswith("faq_")
    ]
    with tempfile.TemporaryDirectory() as tmp, running_bot(Path(tmp) / "tracker.db") as bot:
        for i in range(20):  # warm-up, including session starts
            bot.send(f"warmup-{i % 2}", questions[i % len(questions)])
        latencies_ms: list[float] = []
        for i in range(args.messages):
            sender = f"bench-{i // args.per_conversation}"
            started = time.perf_counter()
            replies = bot.send(sender, questions[i % len(questions)])
            latencies_ms.append((time.perf_counter() - started) * 1000)
            if not replies:
                raise RuntimeError(f"no reply to {questions[i % len(questions)]!r}")
        rss_mb = bot.rasa.rss_bytes() / 2**20
        actions_rss_mb = bot.actions.rss_bytes() / 2**20

    figures = {
        "p50_ms": statistics.median(latencies_ms),
        "p95_ms": percentile(latencies_ms, 0.95),
        "rss_mb": rss_mb,
    }
    print(f"Sequential FAQ questions over REST: {args.messages} "
          f"({args.per_conversation} per conversation), after 20 warm-up messages")
    for key, label, unit in (("p50_ms", "p50 latency", "ms"), ("p95_ms", "p95 latency", "ms"),
                             ("rss_mb", "Rasa server RSS", "MB")):
        verdict = "PASS" if figures[key] <= TARGETS[key] else "MISS"
        print(f"  {label:<16} {figures[key]:8.1f} {unit}   target <= {TARGETS[key]:.0f} {unit}  {verdict}")
    print(f"  (action server RSS {actions_rss_mb:.0f} MB; max {max(latencies_ms):.1f} ms)")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"latency-{stamp}.json"
    out.write_text(json.dumps({
        "when": stamp, "machine": f"{platform.machine()}, {platform.processor() or ''}".strip(", "),
        "messages": args.messages, "figures": figures, "targets": TARGETS,
        "action_server_rss_mb": actions_rss_mb, "latencies_ms": latencies_ms,
    }, indent=2))
    print(f"  written to {out.relative_to(PROJECT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
