"""The project's own tables, in the same database as Rasa's conversations
(SQLite file by default, PostgreSQL through DATABASE_URL)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Optional

import sqlalchemy as sa

metadata = sa.MetaData()

# A request from a patient for a person, or a conversation the bot could not handle.
handoff_tickets = sa.Table(
    "handoff_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False, default="unknown"),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("contact_name", sa.String(255)),
    sa.Column("contact_phone", sa.String(32)),
    sa.Column("contact_email", sa.String(320)),
    sa.Column("last_messages", sa.Text, nullable=False, default="[]"),
    sa.Column("status", sa.String(32), nullable=False, default="new"),
    sa.Column("urgent", sa.Boolean, nullable=False, default=False),
)


def _tune_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL journal and NORMAL sync for SQLite files: still safe after a crash, far
    fewer fsyncs per turn, and readers no longer block the other process's writes
    (the Rasa server and the action server share the file)."""
    module = type(dbapi_connection).__module__
    if not module.startswith(("sqlite3", "pysqlite")):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def tune_sqlite_connections() -> None:
    """Applies _tune_sqlite to every SQLAlchemy engine of this process (Rasa's too)."""
    if not sa.event.contains(sa.engine.Engine, "connect", _tune_sqlite):
        sa.event.listen(sa.engine.Engine, "connect", _tune_sqlite)


BOOKING_STATUSES = ("new", "contacted", "booked", "cancelled")

# A patient's request for an appointment, for staff to confirm. Never a booking.
booking_requests = sa.Table(
    "booking_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False, default="unknown"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("phone", sa.String(32)),
    sa.Column("email", sa.String(320)),
    sa.Column("preferred_times", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("patient_type", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="new"),
    # staff email: when it went out, how many tries, the last error
    sa.Column("notified_at", sa.DateTime(timezone=True)),
    sa.Column("notify_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("notify_error", sa.Text),
)


# Staff emails waiting to be sent (clinic_assistant/clinic/outbox.py): written in the same
# transaction as what they are about, sent by whichever process claims them first.
email_outbox = sa.Table(
    "email_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("booking_request_id", sa.Integer, index=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("given_up_at", sa.DateTime(timezone=True)),
)


HANDOFF_STATUSES = ("new", "contacted", "done", "cancelled")
# The statuses of a request or ticket staff still have to act on (both tables).
OPEN_STATUSES = ("new", "contacted")

# --- staff console (staff/) ---------------------------------------------------------
staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(80), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    # staff/roles.py: front_desk, clinician or admin (accounts made before roles: admin)
    sa.Column("role", sa.String(20), nullable=False, server_default="front_desk"),
)

# Signed-in staff: the cookie holds a random token, this table only its SHA-256.
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# Who did what: logins, transcript views, revealed contacts, replies, changes, exports.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("conversation_id", sa.String(255), index=True),
    sa.Column("detail", sa.Text, nullable=False, default=""),
)

# Status changes of handoff tickets and booking requests, with who, when and a note.
queue_updates = sa.Table(
    "queue_updates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_kind", sa.String(16), nullable=False),  # "handoff" | "booking"
    sa.Column("item_id", sa.Integer, nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# A patient message marked by staff: the right intent, or a new question. The table is
# "annotations"; in Python it is message_marks, as `from __future__ import annotations`
# takes the name.
message_marks = sa.Table(
    "annotations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("event_id", sa.Integer, nullable=False, unique=True),  # Rasa's events.id
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("predicted_intent", sa.String(255)),
    sa.Column("correct_intent", sa.String(255)),  # None: a new question
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# The clinic's details as staff edit them in the console (clinic_assistant/clinic/details.py):
# each change is proposed, then approved (or rejected) by a second person; the newest
# approved one is what the bot says, over clinic/profile.yml.
clinic_detail_versions = sa.Table(
    "clinic_detail_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("details", sa.Text, nullable=False),  # JSON: phone, email, address, booking_link, hours, closures
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),  # proposed | approved | rejected
    sa.Column("based_on", sa.Integer),  # the live version when proposed (None: the profile file)
    sa.Column("restored_from", sa.Integer),
    sa.Column("proposed_by", sa.String(64), nullable=False),
    sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
)

# Answer texts changed in the staff console (clinic_assistant/clinic/answer_texts.py):
# drafts, approved and rejected versions; the newest approved one of a response is
# what the bot says, over domain/.
answer_versions = sa.Table(
    "answer_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("response", sa.String(100), nullable=False, index=True),
    sa.Column("text", sa.Text),  # None: back to the text of domain/
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),  # proposed | approved | rejected
    sa.Column("based_on", sa.Integer),
    sa.Column("restored_from", sa.Integer),
    sa.Column("proposed_by", sa.String(64), nullable=False),
    sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
)

# New topics and new wordings proposed from "Improve the bot" (clinic_assistant/training/):
# proposed, then approved (or rejected) by a clinician other than the author; approved
# ones are taught to the bot by a background training run, which may refuse them.
training_additions = sa.Table(
    "training_additions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(12), nullable=False),  # topic | wordings
    sa.Column("intent", sa.String(100), nullable=False),  # faq_<name> for a new topic
    sa.Column("title", sa.String(100)),  # a new topic's name as staff wrote it
    sa.Column("answer_text", sa.Text),  # a new topic's answer
    sa.Column("examples", sa.Text, nullable=False),  # JSON list of messages
    sa.Column("mark_ids", sa.Text, nullable=False),  # JSON list of annotations.id they came from
    sa.Column("reason", sa.Text, nullable=False),
    # proposed | rejected | approved | training | live | refused | withdrawn
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("proposed_by", sa.String(64), nullable=False),
    sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("run_id", sa.Integer),  # the training run that took it
)

# One background training run: its steps (JSON list of {step, at, detail}), the model
# it made, the frozen test set's figures, and why it was refused or failed.
training_runs = sa.Table(
    "training_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # training | checking | loading | live | refused | failed | replaced
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("additions", sa.Text, nullable=False),  # JSON list of training_additions.id
    sa.Column("fingerprint", sa.String(64), nullable=False),  # the repository's inputs + additions
    sa.Column("steps", sa.Text, nullable=False),
    sa.Column("model_file", sa.Text),
    sa.Column("figures", sa.Text),  # JSON
    sa.Column("reason", sa.Text),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

# When each background worker last looked for work (the trainer: every few seconds), so
# the console can say when none is running.
worker_heartbeats = sa.Table(
    "worker_heartbeats",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),  # host and process id: one trainer at a time
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)

conversation_reviews = sa.Table(
    "conversation_reviews",
    metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
)


# Rasa's SQL tracker store table (rasa/core/tracker_store.py, SQLTrackerStore): the
# conversations, as the staff console, forget and the id migration read them. Rasa
# creates and owns it; these are the columns the project reads.
rasa_events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
    sa.column("data", sa.Text),
)

# The address a messaging conversation is sent to: the phone number (``+1…`` or
# ``whatsapp:+1…``) or Messenger id whose keyed hash is the conversation id
# (clinic_assistant/clinic/identity.py). Masked in the console until revealed; forget deletes it.
conversation_contacts = sa.Table(
    "conversation_contacts",
    metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Webhook deliveries already handled (Twilio MessageSid, Messenger message id), shared by
# every replica and kept across restarts, so a replayed or re-delivered webhook is
# acknowledged and not handled again, even after its conversation was forgotten.
seen_webhooks = sa.Table(
    "seen_webhooks",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("message_id", sa.String(255), primary_key=True),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


def serialize_writers(connection: sa.engine.Connection, table: sa.Table) -> None:
    """Makes transactions that decide on changes of ``table`` take turns (called first in
    the transaction): a PostgreSQL advisory lock, or SQLite's write lock (any UPDATE
    takes it, even one that changes no row), so a check read afterwards stays true
    until the transaction commits."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": table.name})
    else:
        connection.execute(table.update().where(sa.false()).values(id=table.c.id))


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.engine.Engine:
    """One engine per database URL per process; brings the project's tables to the
    newest migration first."""
    from clinic_assistant.migrations import upgrade

    tune_sqlite_connections()
    engine = sa.create_engine(url, future=True, pool_pre_ping=True)
    upgrade(engine)  # the project's tables at the newest migration (clinic_assistant/migrations/)
    return engine


def create_handoff_ticket(
    engine: sa.engine.Engine,
    *,
    conversation_id: str,
    channel: str,
    reason: str,
    last_messages: list[dict[str, Any]],
    contact_name: Optional[str] = None,
    contact_phone: Optional[str] = None,
    contact_email: Optional[str] = None,
    urgent: bool = False,
    now: Optional[datetime] = None,
) -> int:
    """Saves a handoff ticket and returns its id."""
    with engine.begin() as conn:
        result = conn.execute(
            handoff_tickets.insert().values(
                conversation_id=conversation_id,
                channel=channel or "unknown",
                reason=reason,
                created_at=now or datetime.now(timezone.utc),
                contact_name=contact_name,
                contact_phone=contact_phone,
                contact_email=contact_email,
                last_messages=json.dumps(last_messages, ensure_ascii=False),
                status="new",
                urgent=urgent,
            )
        )
        return int(result.inserted_primary_key[0])


def create_booking_request(
    engine: sa.engine.Engine,
    *,
    conversation_id: str,
    channel: str,
    name: str,
    phone: Optional[str],
    email: Optional[str],
    preferred_times: str,
    reason: str,
    patient_type: str,
    now: Optional[datetime] = None,
    staff_email: Optional[Callable[[int], tuple[str, str]]] = None,
) -> int:
    """Saves a booking request with status "new" and returns its id. ``staff_email``
    (request id -> subject, body): the staff email goes into the outbox in the same
    transaction, so a saved request always has its email waiting."""
    with engine.begin() as conn:
        result = conn.execute(
            booking_requests.insert().values(
                conversation_id=conversation_id,
                channel=channel or "unknown",
                created_at=now or datetime.now(timezone.utc),
                name=name,
                phone=phone,
                email=email,
                preferred_times=preferred_times,
                reason=reason,
                patient_type=patient_type,
                status="new",
                notify_attempts=0,
            )
        )
        request_id = int(result.inserted_primary_key[0])
        if staff_email is not None:
            subject, body = staff_email(request_id)
            created = now or datetime.now(timezone.utc)
            conn.execute(email_outbox.insert().values(
                booking_request_id=request_id, subject=subject, body=body, created_at=created,
                attempts=0, next_attempt_at=created))
        return request_id


def record_notification(
    engine: sa.engine.Engine | sa.engine.Connection, request_id: int, *, sent: bool,
    error: Optional[str] = None,
) -> None:
    """Notes one attempt to email staff about a booking request (in the caller's
    transaction when given a connection)."""
    values: dict[str, Any] = {
        "notify_attempts": booking_requests.c.notify_attempts + 1,
        "notify_error": None if sent else error,
    }
    if sent:
        values["notified_at"] = datetime.now(timezone.utc)
    update = booking_requests.update().where(booking_requests.c.id == request_id).values(**values)
    if isinstance(engine, sa.engine.Connection):
        engine.execute(update)
        return
    with engine.begin() as conn:
        conn.execute(update)


def remember_contact(engine: sa.engine.Engine, conversation_id: str, channel: str,
                     address: str) -> None:
    """Keeps (or updates) the address a messaging conversation is sent to."""
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        updated = conn.execute(
            conversation_contacts.update()
            .where(conversation_contacts.c.conversation_id == conversation_id)
            .values(channel=channel, address=address, updated_at=now)
        )
        if updated.rowcount == 0:
            try:
                with conn.begin_nested():
                    conn.execute(conversation_contacts.insert().values(
                        conversation_id=conversation_id, channel=channel, address=address,
                        updated_at=now))
            except sa.exc.IntegrityError:  # written by another replica just now
                pass


def contact_of(engine: sa.engine.Engine, conversation_id: str) -> Optional[str]:
    """The address of a messaging conversation (None for the widget and REST)."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(conversation_contacts.c.address)
            .where(conversation_contacts.c.conversation_id == conversation_id)
        ).scalar()
