"""Browser tests: Debian's Chromium, driven by Playwright, on the demo clinic website
(widget/serve.py) talking to the real Rasa server and action server on loopback.

`make test` installs Chromium when it is missing (scripts/ensure-chromium); where it
cannot, these tests are skipped with the reason.
"""
from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.harness.servers import (
    LOGS,
    PROJECT,
    Bot,
    base_env,
    free_port,
    running_bot,
    start_rasa_server,
)

ARTIFACTS = PROJECT / "tests" / "artifacts"
WIDGET_BUNDLE = PROJECT / "widget" / "dist" / "clinic-chat.js"
AXE = PROJECT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
STAFF_API_TOKEN = secrets.token_urlsafe(24)
STAFF_USER, STAFF_PASSWORD = "anna", "a long test password"
# Without the background-networking flags Chromium keeps trying to reach Google's
# servers, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


# Package scope: Playwright's sync API runs an event loop of its own while it is open,
# which the asyncio tests elsewhere must not meet.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip("Debian's chromium package is not installed (scripts/ensure-chromium installs it)")
    if not WIDGET_BUNDLE.exists():
        pytest.fail("widget/dist/clinic-chat.js is missing: run `make widget`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class WidgetSite:
    """The demo website on loopback, with the bot behind its widget."""

    url: str
    bot: Bot
    rasa_port: int
    rasa_env: dict[str, str]
    stack: ExitStack = field(default_factory=ExitStack)

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def restart_rasa(self) -> None:
        """Starts the Rasa server again on the same port (after a crash or a stop)."""
        action_port = int(self.bot.actions.url.rsplit(":", 1)[1])
        self.bot.rasa = self.stack.enter_context(
            start_rasa_server(
                self.rasa_port, action_port, self.bot.tracker_db,
                database_url=f"sqlite:///{self.bot.tracker_db}", **self.rasa_env,
            )
        )

    def user_messages(self, session_id: str) -> list[str]:
        """The patient's messages of a conversation, as the tracker store holds them."""
        return self.bot.user_texts(session_id)


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start; see tests/artifacts/logs/")
        time.sleep(0.2)


@pytest.fixture(scope="package")
def widget_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WidgetSite]:
    site_port, rasa_port = free_port(), free_port()
    origin = f"http://127.0.0.1:{site_port}"
    # the background trainer's models (test_staff_console.py teaches the bot a topic)
    console_models = tmp_path_factory.mktemp("console-models")
    rasa_env = {"WIDGET_ORIGINS": origin, "STAFF_API_TOKEN": STAFF_API_TOKEN,
                "CONSOLE_MODELS_DIR": str(console_models)}
    LOGS.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        bot = stack.enter_context(
            running_bot(tmp_path_factory.mktemp("widget") / "tracker.db",
                        rasa_env=rasa_env, rasa_port=rasa_port)
        )
        log = stack.enter_context(open(LOGS / "demo-site.log", "ab"))
        site = subprocess.Popen(
            [sys.executable, "widget/serve.py", "--port", str(site_port),
             "--bot-url", f"http://127.0.0.1:{rasa_port}"],
            cwd=PROJECT, env=base_env(), stdout=log, stderr=subprocess.STDOUT,
        )
        stack.callback(site.wait, 10)
        stack.callback(site.terminate)
        wait_until_up(origin + "/", site, "the demo site")
        state = WidgetSite(url=origin + "/", bot=bot, rasa_port=rasa_port, rasa_env=rasa_env)
        with state.stack:
            yield state


@pytest.fixture(scope="package")
def staff_console(widget_site: WidgetSite) -> Iterator[str]:
    """The staff console on loopback, on the widget bot's database, with one account
    made by the documented command."""
    port = free_port()
    env = base_env(
        DATABASE_URL=f"sqlite:///{widget_site.bot.tracker_db}",
        STAFF_SECRET_KEY=secrets.token_urlsafe(40), STAFF_API_TOKEN=STAFF_API_TOKEN,
        RASA_URL=widget_site.bot_url,
    )
    made = subprocess.run(
        [sys.executable, "-m", "staff", "create-user", STAFF_USER, "--role", "admin", "--name", "Anna", "--password-stdin"],
        input=STAFF_PASSWORD + "\n", capture_output=True, text=True, cwd=PROJECT, env=env, timeout=120,
    )
    assert made.returncode == 0, made.stderr
    with open(LOGS / "staff-console.log", "ab") as log:
        console = subprocess.Popen(
            [sys.executable, "-m", "staff", "serve", "--port", str(port)],
            cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/health", console, "the staff console")
        yield url
    finally:
        console.terminate()
        console.wait(10)


@pytest.fixture
def page(browser: Any, widget_site: WidgetSite) -> Iterator[Any]:
    """A new browser profile (empty localStorage) at desktop size, on the demo site."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(widget_site.url)
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA rules)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return list(result)
