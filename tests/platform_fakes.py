"""Loopback fakes of Twilio's and Facebook's APIs: the real client libraries send to
them (base URL on 127.0.0.1) and the tests read what would have reached a phone."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit


class FakePlatform:
    """Records every API call; ``failing`` makes it answer 500 as an outage would."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failing = False
        self.lock = threading.Lock()
        self.url = ""

    def sent(self, to: str) -> list[str]:
        """The texts sent to one recipient, in order."""
        with self.lock:
            return [c["text"] for c in self.calls if c["to"] == to]

    def wait_for(self, to: str, count: int, seconds: float = 20) -> list[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.sent(to)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages to {to}, got {self.sent(to)}")


def _handler(platform: FakePlatform, kind: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if platform.failing:
                self._answer(500, {"error": {"message": "fake outage", "code": 500}})
                return
            if kind == "twilio":
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                call = {"to": form.get("To"), "from": form.get("From"), "text": form.get("Body"),
                        "path": self.path}
                answer = {"sid": f"SM{len(platform.calls):032d}", "status": "queued",
                          "to": form.get("To"), "from": form.get("From"), "body": form.get("Body")}
                status = 201
            else:
                body = json.loads(raw)
                query = parse_qs(urlsplit(self.path).query)
                call = {"to": body["recipient"]["id"], "text": body["message"].get("text"),
                        "quick_replies": body["message"].get("quick_replies"),
                        "access_token": query.get("access_token", [""])[0],
                        "appsecret_proof": query.get("appsecret_proof", [""])[0]}
                answer = {"recipient_id": body["recipient"]["id"], "message_id": f"m_{len(platform.calls)}"}
                status = 200
            with platform.lock:
                platform.calls.append(call)
            self._answer(status, answer)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_platform(kind: str) -> Iterator[FakePlatform]:
    """kind: "twilio" or "facebook"; serves on a free loopback port until the end."""
    platform = FakePlatform()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(platform, kind))
    platform.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()
