"""The staff console's web app (Flask): the app-wide parts. Deny by default: every page
but the login page needs a signed-in staff member whose role allows the action the page
names (staff/roles.py; a page that names none is refused to all); every form carries a
CSRF token (Flask-WTF). The pages are blueprints in staff/views/."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from flask import Flask, Response, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from clinic_assistant.clinic.db import engine_for
from clinic_assistant.settings import Settings
from staff import accounts, audit, roles, views
from staff.console import EXTENSION, Console, ConversationIdConverter, console

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "token"}
MIN_SECRET_LENGTH = 32
# open to anyone: signing in, the style sheet, the load balancer's health check
PUBLIC_ENDPOINTS = ("auth.login", "static", "health")


def weak_secret(value: str) -> bool:
    """Too short to be random, or a placeholder left from an example file."""
    text = value.strip().lower()
    return (len(text) < MIN_SECRET_LENGTH or text in PLACEHOLDER_SECRETS
            or "example" in text or "change" in text)


def _check_secrets(settings: Settings) -> None:
    if weak_secret(settings.staff.secret_key):
        raise RuntimeError(
            f"STAFF_SECRET_KEY must be a random string of at least {MIN_SECRET_LENGTH} characters "
            "(`make run` makes one in var/; in production set it in the environment)."
        )
    if settings.staff.api_token and weak_secret(settings.staff.api_token):
        raise RuntimeError(
            f"STAFF_API_TOKEN must be a random string of at least {MIN_SECRET_LENGTH} characters, "
            "not a placeholder (`make run` makes one in var/; in production set the same value "
            "for the Rasa server and the staff console). Leave it unset to run the console "
            "without live replies."
        )


def require_staff() -> Optional[Response]:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = session.get("token", "")
    member = accounts.session_member(console().engine, token) if token else None
    if member is None:
        session.clear()
        if request.method != "GET" or request.path.startswith("/exports/"):
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    g.member = member
    if request.endpoint is None:  # no such page: 404 (or 405) from the routing
        return None
    action = roles.action_of(current_app.view_functions.get(request.endpoint))
    if action is None or not member.may(action):
        audit.record(console().engine, member.username, "refused", None,
                     f"{request.method} {request.path[:200]} ({action or 'no action named'})")
        abort(403, roles.REFUSED.format(role=roles.LABELS.get(member.role, member.role),
                                        action=roles.ACTIONS.get(action or "", "this page")))
    return None


def security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_page(status: int, reason: str) -> tuple[str, int]:
    return render_template("error.html", status=status, reason=reason), status


def clinic_time(moment: Optional[datetime]) -> str:
    """A stored time (UTC; SQLite returns it without a zone) in the clinic's zone."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(console().tz()).strftime("%Y-%m-%d %H:%M")


def clinic_time_iso(moment: str) -> str:
    """A step's time (ISO text, UTC) in the clinic's zone, to the second."""
    try:
        parsed = datetime.fromisoformat(moment)
    except (TypeError, ValueError):
        return str(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(console().tz()).strftime("%Y-%m-%d %H:%M:%S")


def create_app(settings: Optional[Settings] = None) -> Flask:
    settings = settings or Settings.from_env()
    _check_secrets(settings)
    app = Flask(__name__)
    app.url_map.converters["conversation"] = ConversationIdConverter
    app.config.update(
        SECRET_KEY=settings.staff.secret_key,
        SESSION_COOKIE_NAME="clinic_staff",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.staff.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.staff.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions[EXTENSION] = Console(settings, engine_for(settings.database.url))
    app.before_request(require_staff)
    # after require_staff, so that a request without a session gets 401 before any
    # CSRF check
    CSRFProtect(app)
    app.after_request(security_headers)
    app.register_error_handler(CSRFError, lambda _: _error_page(400, (
        "This form had expired or did not come from this console. "
        "Go back, reload the page and try again.")))
    app.register_error_handler(401, lambda _: _error_page(401, "Please sign in first."))
    app.register_error_handler(400, lambda error: _error_page(400, error.description))
    app.register_error_handler(403, lambda error: _error_page(403, error.description))
    app.register_error_handler(404, lambda _: _error_page(404, "There is no such page or item."))
    app.add_url_rule("/health", "health", lambda: {"status": "ok"})
    views.register(app)
    app.add_template_filter(clinic_time, "clinic_time")
    app.add_template_filter(clinic_time_iso, "clinic_time_iso")

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        return {"member": getattr(g, "member", None), "clinic": console().profile().name,
                "role_label": lambda role: roles.LABELS.get(role, role)}

    return app
