"""Serves the demo clinic website with the chat widget on it (started by `make run`).

    python widget/serve.py --host 127.0.0.1 --port 8080 --bot-url http://127.0.0.1:5005

Pages come from widget/demo/ (``{{BOT_URL}}`` in a page becomes --bot-url), the widget
from widget/dist/ (``npm run build``). Standard library only; a demo, not the clinic's
web server.
"""
from __future__ import annotations

import argparse
import html
import mimetypes
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

WIDGET = Path(__file__).resolve().parent
FILES = {
    "/": WIDGET / "demo" / "index.html",
    "/index.html": WIDGET / "demo" / "index.html",
    "/dry-needling.html": WIDGET / "demo" / "dry-needling.html",
    "/site.css": WIDGET / "demo" / "site.css",
    "/clinic-chat.js": WIDGET / "dist" / "clinic-chat.js",
    "/clinic-chat.js.map": WIDGET / "dist" / "clinic-chat.js.map",
}


def make_handler(bot_url: str) -> type[BaseHTTPRequestHandler]:
    class DemoSite(BaseHTTPRequestHandler):
        server_version = "clinic-demo"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = FILES.get(urlsplit(self.path).path)
            if path is None or not path.is_file():
                self.send_error(HTTPStatus.NOT_FOUND, "No such page on the demo site")
                return
            body = path.read_bytes()
            if path.suffix == ".html":
                body = body.replace(b"{{BOT_URL}}", html.escape(bot_url).encode())
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if content_type.startswith("text/") or content_type.endswith("javascript"):
                content_type += "; charset=utf-8"
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write(f"demo-site {self.address_string()} {format % args}\n")

    return DemoSite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--bot-url", default="http://127.0.0.1:5005")
    args = parser.parse_args()
    if not FILES["/clinic-chat.js"].is_file():
        sys.exit("widget/dist/clinic-chat.js is missing: run `make widget` (or `make run`).")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.bot_url))
    print(f"Demo clinic website with the chat widget: http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
