"""The staff console's web app (Flask). Deny by default: every page but the login page
needs a signed-in staff member; every form carries a CSRF token (Flask-WTF)."""
from __future__ import annotations

import base64
import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Optional
from urllib.parse import unquote, urlencode
from zoneinfo import ZoneInfo

import yaml
from flask import (
    Flask,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.routing import BaseConverter, ValidationError

from clinic_assistant import identity
from clinic_assistant.db import (
    BOOKING_STATUSES,
    HANDOFF_STATUSES,
    annotations,
    contact_of,
    conversation_reviews,
    engine_for,
)
from clinic_assistant.profile import current_profile
from clinic_assistant.settings import PROJECT_ROOT, Settings
from clinic_assistant.triage import RED_FLAG_INTENTS
from staff import accounts, conversations, exports, live, queues
from staff.privacy import PHONE_MASK, e164, hide_contacts, mask

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "token"}
MIN_SECRET_LENGTH = 32
NOT_MARKABLE = {"nlu_fallback", "message_too_long", *RED_FLAG_INTENTS}
EXPORT_LIMIT = 1000  # conversations per export
CONTACT_MASK = {"messenger": "[Messenger id hidden]", "sms": PHONE_MASK, "whatsapp": PHONE_MASK}


@lru_cache(maxsize=1)
def answer_intents() -> tuple[str, ...]:
    """The intents staff can mark a message with (from domain/)."""
    names: list[str] = []
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        for intent in yaml.safe_load(path.read_text()).get("intents") or []:
            name = intent if isinstance(intent, str) else next(iter(intent))
            if name not in NOT_MARKABLE and name not in names:
                names.append(name)
    return tuple(sorted(names))


def _flag(value: Optional[str]) -> Optional[bool]:
    return {"yes": True, "no": False}.get(value or "")


def _day(value: Optional[str]) -> Optional[date]:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filters_from(args: Any) -> conversations.Filters:
    try:
        page = max(int(args.get("page", "1")), 1)
    except ValueError:
        page = 1
    channel = args.get("channel", "")
    return conversations.Filters(
        q=args.get("q", "")[:200], date_from=_day(args.get("from")), date_to=_day(args.get("to")),
        channel=channel if channel in conversations.CHANNELS else "",
        handed_off=_flag(args.get("handed_off")), urgent=_flag(args.get("urgent")),
        fallback=_flag(args.get("fallback")), booking=_flag(args.get("booking")),
        reviewed=_flag(args.get("reviewed")), page=page,
    )


class ConversationIdConverter(BaseConverter):
    """Conversation ids in URLs: readable when they are plain (``web:3f2a…``), else
    ``~`` and their base64url form, so an id with ``/``, ``?``, ``%``, spaces or dots
    (old or REST ids) can still be opened and forgotten from the console."""

    PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]*")

    def to_url(self, value: Any) -> str:
        text = str(value)
        if self.PLAIN.fullmatch(text):
            return text
        return "~" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def to_python(self, value: str) -> str:
        if not value.startswith("~"):
            return value
        try:
            return base64.urlsafe_b64decode(value[1:] + "=" * (-len(value[1:]) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            raise ValidationError() from None


def weak_secret(value: str) -> bool:
    """Too short to be random, or a placeholder left from an example file."""
    text = value.strip().lower()
    return (len(text) < MIN_SECRET_LENGTH or text in PLACEHOLDER_SECRETS
            or "example" in text or "change" in text)


# in a redirect target: control characters (browsers drop tabs and newlines, so
# "/\t/evil.com" becomes "//evil.com") and backslashes (read as "/")
_NOT_IN_A_PATH = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def local_path(target: str, default: str) -> str:
    """``target`` if it is a path on this site (a single leading "/", no backslash, no
    control character, no scheme), else ``default``. The path is checked once more
    percent-decoded, as a proxy in front might decode it: "/%5Cevil.com" is refused."""
    path = unquote(target.split("?", 1)[0].split("#", 1)[0])
    for text in (target, path):
        if not text.startswith("/") or text.startswith("//") or _NOT_IN_A_PATH.search(text):
            return default
    return target


def filter_note(filters: conversations.Filters, with_page: bool = True) -> str:
    """The filters in effect, for the audit log. A search's words are not kept, only
    their length: staff search for a patient's name or number, and forgetting that
    patient must leave neither behind."""
    flags = {name: {True: "yes", False: "no"}.get(getattr(filters, name))
             for name in ("handed_off", "urgent", "fallback", "booking", "reviewed")}
    query = filters.q.strip()
    values = {
        "q": f"({len(query)} characters)" if query else "", "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "", "channel": filters.channel,
        **flags, "page": str(filters.page) if with_page and filters.page > 1 else "",
    }
    return urlencode([(name, value) for name, value in values.items() if value])


def create_app(settings: Optional[Settings] = None) -> Flask:
    settings = settings or Settings.from_env()
    if weak_secret(settings.staff_secret_key):
        raise RuntimeError(
            f"STAFF_SECRET_KEY must be a random string of at least {MIN_SECRET_LENGTH} characters "
            "(`make run` makes one in var/; in production set it in the environment)."
        )
    if settings.staff_api_token and weak_secret(settings.staff_api_token):
        raise RuntimeError(
            f"STAFF_API_TOKEN must be a random string of at least {MIN_SECRET_LENGTH} characters, "
            "not a placeholder (`make run` makes one in var/; in production set the same value "
            "for the Rasa server and the staff console). Leave it unset to run the console "
            "without live replies."
        )
    app = Flask(__name__)
    app.url_map.converters["conversation"] = ConversationIdConverter
    app.config.update(
        SECRET_KEY=settings.staff_secret_key,
        SESSION_COOKIE_NAME="clinic_staff",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.staff_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.staff_session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    engine = engine_for(settings.database_url)

    def profile() -> Any:
        return current_profile(settings.clinic_profile_path)

    def tz() -> ZoneInfo:
        return ZoneInfo(profile().timezone)

    def keep() -> frozenset[str]:
        return frozenset({e164(profile().phone)} - {""})

    @app.before_request
    def require_staff() -> Optional[Response]:
        if request.endpoint in ("login", "static", "health"):
            return None
        token = session.get("token", "")
        member = accounts.session_member(engine, token) if token else None
        if member is None:
            session.clear()
            if request.method != "GET" or request.path.startswith("/exports/"):
                abort(401)
            return redirect(url_for("login", next=request.full_path.rstrip("?")))
        g.member = member
        return None

    # after require_staff, so that a request without a session gets 401 before any
    # CSRF check
    CSRFProtect(app)

    @app.after_request
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

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[str, int]:
        return render_template("error.html", status=400, reason=(
            "This form had expired or did not come from this console. "
            "Go back, reload the page and try again.")), 400

    @app.errorhandler(401)
    def unauthorized(_: Any) -> tuple[str, int]:
        return render_template("error.html", status=401, reason="Please sign in first."), 401

    @app.errorhandler(404)
    def not_found(_: Any) -> tuple[str, int]:
        return render_template("error.html", status=404, reason="There is no such page or item."), 404

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # --- signing in and out ------------------------------------------------------
    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = None
        username = ""
        next_page = local_path(request.values.get("next", ""), url_for("conversation_list"))
        if request.method == "POST":
            username = request.form.get("username", "")[:64]
            result = accounts.authenticate(engine, username, request.form.get("password", "")[:1024])
            if result.member is not None:
                token = accounts.start_session(engine, result.member, settings.staff_session_hours)
                session.clear()
                session.permanent = True
                session["token"] = token
                conversations.record(engine, result.member.username, "login")
                return redirect(next_page)
            # the log tells the administrator what the page must not tell anyone
            conversations.record(engine, username.strip().lower() or "?", "login_failed", None,
                                 "account locked" if result.locked_until else "")
            error = accounts.SIGN_IN_FAILED
        return render_template("login.html", error=error, next=next_page,
                               username=username), (401 if error else 200)

    @app.post("/logout")
    def logout() -> Any:
        accounts.end_session(engine, session.get("token", ""))
        conversations.record(engine, g.member.username, "logout")
        session.clear()
        return redirect(url_for("login"))

    # --- conversations -----------------------------------------------------------
    @app.get("/")
    def home() -> Any:
        return redirect(url_for("conversation_list"))

    @app.get("/conversations")
    def conversation_list() -> Any:
        filters = filters_from(request.args)
        rows, total = conversations.list_conversations(engine, filters, tz())
        for row in rows:
            row.preview = mask(row.preview, keep())
        args = {k: v for k, v in request.args.items() if k != "page"}
        page = render_template(
            "conversations.html", rows=rows, total=total, filters=filters, args=args,
            pages=max(1, -(-total // conversations.PAGE_SIZE)), stats=conversations.stats(engine, tz()),
            channels=conversations.CHANNELS,
        )
        conversations.record(engine, g.member.username, "list_conversations", None, filter_note(filters))
        return page

    def show_transcript(conversation_id: str, revealed: bool) -> Any:
        turns = conversations.transcript(engine, conversation_id, tz())
        if not turns:
            abort(404)
        hide = (lambda text: text) if revealed else (lambda text: mask(text, keep()))
        for turn in turns:
            turn.text = hide(turn.text)
        # a messaging conversation's number (or Messenger id): its id is only a hash of it
        kind = identity.kind_of(conversation_id) or ""
        contact = contact_of(engine, conversation_id)
        handoffs = queues.items(engine, "handoff", conversation_id=conversation_id)
        bookings = queues.items(engine, "booking", conversation_id=conversation_id)
        if not revealed:
            hide_contacts(handoffs, bookings, keep())
        with engine.connect() as conn:
            review = conn.execute(conversation_reviews.select().where(
                conversation_reviews.c.conversation_id == conversation_id)).mappings().first()
        return render_template(
            "transcript.html", conversation_id=conversation_id, turns=turns, revealed=revealed,
            channel=identity.channel_of(conversation_id)
            or conversations.conversation_channel(engine, conversation_id),
            contact=contact if revealed or not contact else CONTACT_MASK[kind],
            contact_label="Messenger id" if kind == "messenger" else "Phone",
            with_staff=conversations.handoff_active(engine, conversation_id),
            handoffs=handoffs, bookings=bookings, review=review, intents=answer_intents(),
            low=conversations.LOW_CONFIDENCE, handoff_statuses=HANDOFF_STATUSES,
            booking_statuses=BOOKING_STATUSES,
        )

    @app.get("/conversations/<conversation:conversation_id>")
    def conversation(conversation_id: str) -> Any:
        page = show_transcript(conversation_id, revealed=False)
        conversations.record(engine, g.member.username, "view_transcript", conversation_id)
        return page

    @app.post("/conversations/<conversation:conversation_id>/reveal")
    def reveal(conversation_id: str) -> Any:
        page = show_transcript(conversation_id, revealed=True)
        conversations.record(engine, g.member.username, "reveal_contacts", conversation_id)
        return page

    @app.post("/conversations/<conversation:conversation_id>/reply")
    def reply(conversation_id: str) -> Any:
        text = request.form.get("text", "").strip()
        if not text:
            flash("Type a reply first.", "error")
        else:
            outcome = live.send_reply(settings, conversation_id, text, g.member.display_name)
            flash(outcome.message, "ok" if outcome.ok else "error")
            if outcome.ok:
                conversations.record(engine, g.member.username, "reply", conversation_id)
        return redirect(url_for("conversation", conversation_id=conversation_id) + "#reply")

    @app.post("/conversations/<conversation:conversation_id>/hand-back")
    def hand_back(conversation_id: str) -> Any:
        outcome = live.hand_back(settings, conversation_id, g.member.display_name)
        flash(outcome.message, "ok" if outcome.ok else "error")
        if outcome.ok:
            queues.close_open_tickets(engine, conversation_id, g.member.username, "handed back to the bot")
            conversations.record(engine, g.member.username, "hand_back", conversation_id)
        return redirect(url_for("conversation", conversation_id=conversation_id))

    @app.post("/conversations/<conversation:conversation_id>/review")
    def review(conversation_id: str) -> Any:
        with engine.begin() as conn:
            conn.execute(conversation_reviews.delete().where(
                conversation_reviews.c.conversation_id == conversation_id))
            if request.form.get("reviewed") == "yes":
                conn.execute(conversation_reviews.insert().values(
                    conversation_id=conversation_id, username=g.member.username,
                    reviewed_at=datetime.now(timezone.utc)))
        conversations.record(engine, g.member.username, "review", conversation_id,
                             request.form.get("reviewed", "no"))
        return redirect(url_for("conversation", conversation_id=conversation_id))

    @app.post("/conversations/<conversation:conversation_id>/mark")
    def mark(conversation_id: str) -> Any:
        choice = request.form.get("intent", "")
        try:
            event_id = int(request.form.get("event_id", ""))
        except ValueError:
            abort(400)
        turn = next((t for t in conversations.transcript(engine, conversation_id, tz())
                     if t.event_id == event_id and t.kind == "user"), None)
        if turn is None or (choice != "new" and choice not in answer_intents()):
            flash("Choose an answer from the list, or 'new question'.", "error")
            return redirect(url_for("conversation", conversation_id=conversation_id))
        with engine.begin() as conn:
            conn.execute(annotations.delete().where(annotations.c.event_id == event_id))
            conn.execute(annotations.insert().values(
                conversation_id=conversation_id, event_id=event_id, text=turn.text,
                predicted_intent=turn.intent, correct_intent=None if choice == "new" else choice,
                username=g.member.username, created_at=datetime.now(timezone.utc)))
        conversations.record(engine, g.member.username, "mark", conversation_id, choice)
        flash("Marked for training.", "ok")
        return redirect(url_for("conversation", conversation_id=conversation_id) + f"#turn-{event_id}")

    @app.post("/conversations/<conversation:conversation_id>/forget")
    def forget(conversation_id: str) -> Any:
        if request.form.get("confirm") != conversation_id:
            flash("To forget a conversation, type its id in the box to confirm.", "error")
            return redirect(url_for("conversation", conversation_id=conversation_id))
        # deleted under the conversation's lock (staff/live.py, clinic_assistant/forget.py)
        # and recorded in the audit log under a random id (the conversation's own id is
        # a keyed hash of a phone number for SMS)
        outcome = live.forget_everywhere(settings, engine, [conversation_id], g.member.username)
        if not outcome.ok:
            flash(outcome.message, "error")
            return redirect(url_for("conversation", conversation_id=conversation_id))
        flash(outcome.message, "ok")
        return redirect(url_for("conversation_list"))

    # --- queues ------------------------------------------------------------------
    def queue_status(value: Optional[str]) -> str:
        known = ("open", "all", *HANDOFF_STATUSES, *BOOKING_STATUSES)
        return value if value in known else "open"

    def show_queues(status: str, revealed: Optional[tuple[str, int]] = None) -> str:
        handoffs = queues.items(engine, "handoff", status)
        bookings = queues.items(engine, "booking", status)
        hide_contacts(handoffs, bookings, keep(), revealed)
        return render_template("queues.html", handoffs=handoffs, bookings=bookings, status=status,
                               handoff_statuses=HANDOFF_STATUSES, booking_statuses=BOOKING_STATUSES,
                               back=url_for("queue_page", status=status), can_reveal=True)

    @app.get("/queues")
    def queue_page() -> Any:
        status = queue_status(request.args.get("status"))
        page = show_queues(status)
        conversations.record(engine, g.member.username, "view_queues", None, f"status={status}")
        return page

    @app.post("/queues/<kind>/<int:item_id>/reveal")
    def reveal_queue_item(kind: str, item_id: int) -> Any:
        item = queues.item(engine, kind, item_id)
        if item is None:
            abort(404)
        page = show_queues(queue_status(request.form.get("status")), revealed=(kind, item_id))
        conversations.record(engine, g.member.username, "reveal_queue_item", item["conversation_id"],
                             f"{kind} {item_id}")
        return page

    @app.post("/queues/<kind>/<int:item_id>/status")
    def change_status(kind: str, item_id: int) -> Any:
        try:
            queues.change_status(engine, kind, item_id, request.form.get("status", ""),
                                 request.form.get("note", ""), g.member.username)
        except queues.QueueError as error:
            return render_template("error.html", status=400, reason=str(error)), 400
        conversations.record(engine, g.member.username, "status_change", None,
                             f"{kind} {item_id} -> {request.form.get('status')}")
        flash("Status changed.", "ok")
        return redirect(local_path(request.form.get("back", ""), url_for("queue_page")))

    # --- improving the bot, exports ----------------------------------------------
    @app.get("/improve")
    def improve() -> Any:
        marked = exports.marked_messages(engine)
        for item in marked:
            item["text"] = mask(item["text"], keep())
        page = render_template("improve.html", marked=marked)
        conversations.record(engine, g.member.username, "view_improve")
        return page

    @app.get("/exports/nlu.yml")
    def export_nlu() -> Response:
        marked = exports.marked_messages(engine)
        body = exports.nlu_yaml(marked)
        conversations.record(engine, g.member.username, "export", None, f"nlu, {len(marked)} marked messages")
        return Response(body, mimetype="text/yaml",
                        headers={"Content-Disposition": "attachment; filename=marked-messages.nlu.yml"})

    @app.get("/exports/conversations.<fmt>")
    def export_conversations(fmt: str) -> Response:
        if fmt not in ("csv", "json"):
            abort(404)
        filters = filters_from(request.args)
        note = filter_note(filters, with_page=False)
        picked: list[tuple[str, str, list[Any]]] = []
        filters.page = 1
        while len(picked) < EXPORT_LIMIT:
            rows, _ = conversations.list_conversations(engine, filters, tz())
            picked += [(row.id, row.channel, conversations.transcript(engine, row.id, tz())) for row in rows]
            if len(rows) < conversations.PAGE_SIZE:
                break
            filters.page += 1
        records = exports.conversation_records(picked[:EXPORT_LIMIT])
        conversations.record(engine, g.member.username, "export", None,
                             f"conversations {fmt}, {len(picked[:EXPORT_LIMIT])} exported"
                             + (f"; {note}" if note else ""))
        body = exports.as_csv(records) if fmt == "csv" else exports.as_json(records)
        return Response(body, mimetype="text/csv" if fmt == "csv" else "application/json",
                        headers={"Content-Disposition": f"attachment; filename=conversations.{fmt}"})

    @app.template_filter("clinic_time")
    def clinic_time(moment: Optional[datetime]) -> str:
        """A stored time (UTC; SQLite returns it without a zone) in the clinic's zone."""
        if moment is None:
            return "—"
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(tz()).strftime("%Y-%m-%d %H:%M")

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        return {"member": getattr(g, "member", None), "clinic": profile().name}

    return app
