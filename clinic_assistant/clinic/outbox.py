"""Staff emails sent from the database, so that a restart loses none (issue #17).

    python -m clinic_assistant.clinic.outbox        the worker (make run and compose start one)

A booking request and its staff email are written in one transaction
(``db.create_booking_request(..., staff_email=...)``): the email is a row of
``email_outbox``. It is sent by whichever process *claims* it first: a claim is one
UPDATE that succeeds only while the row is unsent, due and unclaimed (or its claim has
expired), so two processes, or two replicas, never send it at the same time. The action
server tries at once (``deliver``, in the background, so the patient does not wait);
the worker picks up whatever is due, including the retries of a process that stopped:
after a failed attempt the row waits ``NOTIFY_RETRY_SECONDS`` (5, 30, 120 s by default)
before the next one, and after the last it is given up (the console shows the error,
the request itself is kept). Every attempt is also noted on the booking request
(``notify_attempts``, ``notify_error``, ``notified_at``), which the console shows.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from typing import Optional

import sqlalchemy as sa

from clinic_assistant.clinic.db import email_outbox, engine_for, record_notification
from clinic_assistant.clinic.notify import SmtpSettings, send_email
from clinic_assistant.settings import Settings

logger = logging.getLogger(__name__)
CLAIM_SECONDS = 120  # longer than one SMTP attempt can take (its timeout is shorter)
POLL_SECONDS = 1.0
OUTAGE_WAIT_SECONDS = 5.0


def retry_delays() -> list[float]:
    return list(Settings.from_env().smtp.retry_seconds)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _sendable(now: datetime) -> sa.sql.ColumnElement:
    """Unsent, not given up, due, and not claimed by a live attempt."""
    c = email_outbox.c
    return sa.and_(c.sent_at.is_(None), c.given_up_at.is_(None), c.next_attempt_at <= now,
                   sa.or_(c.claimed_until.is_(None), c.claimed_until < now))


def claim(engine: sa.engine.Engine, row_id: int, now: Optional[datetime] = None) -> bool:
    """Takes the row for one attempt if it is sendable. One UPDATE, so of two
    processes only one gets it."""
    now = now or _now()
    with engine.begin() as conn:
        taken = conn.execute(
            email_outbox.update().where(email_outbox.c.id == row_id, _sendable(now))
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS)))
    return bool(taken.rowcount == 1)


def due(engine: sa.engine.Engine, now: Optional[datetime] = None) -> list[int]:
    now = now or _now()
    with engine.connect() as conn:
        return list(conn.execute(sa.select(email_outbox.c.id).where(_sendable(now))
                                 .order_by(email_outbox.c.next_attempt_at)).scalars())


def attempt(engine: sa.engine.Engine, row_id: int, smtp: Optional[SmtpSettings]) -> Optional[bool]:
    """One attempt at one row: True sent, False failed, None not ours (claimed elsewhere,
    sent, not due)."""
    if not claim(engine, row_id):
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.select(email_outbox).where(email_outbox.c.id == row_id)).mappings().one()
    request_id = row["booking_request_id"]
    error: Optional[str] = None
    if smtp is None:
        error = "email not configured"
    else:
        try:
            send_email(smtp, row["subject"], row["body"])
        except Exception as failure:  # noqa: BLE001 - every failure is retried and noted
            error = f"{type(failure).__name__}: {failure}"
    attempts = row["attempts"] + 1
    delays = retry_delays()
    values: dict[str, object] = {"attempts": attempts, "claimed_until": None, "last_error": error}
    if error is None:
        values["sent_at"] = _now()
    elif smtp is None or attempts > len(delays):
        values["given_up_at"] = _now()
    else:
        values["next_attempt_at"] = _now() + timedelta(seconds=delays[attempts - 1])
    # one transaction: a worker killed here leaves the row and the request agreeing. A
    # crash (or a database error) after the send and before this write leaves the row
    # claimed: it is sent again once the claim runs out (CLAIM_SECONDS). Delivery is at
    # least once: staff may see a duplicate, never a lost request.
    with engine.begin() as conn:
        conn.execute(email_outbox.update().where(email_outbox.c.id == row_id).values(**values))
        if request_id is not None:
            record_notification(conn, request_id, sent=error is None, error=error)
    if error is None:
        logger.info("staff email %s sent (booking request %s)", row_id, request_id)
    else:
        logger.warning("staff email %s, booking request %s, attempt %s: %s", row_id, request_id,
                       attempts, error)
    return error is None


def seconds_until_due(engine: sa.engine.Engine, row_id: int) -> Optional[float]:
    """How long until the row's next attempt; None once it is sent or given up."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(email_outbox).where(email_outbox.c.id == row_id)).mappings().one()
    if row["sent_at"] is not None or row["given_up_at"] is not None:
        return None
    due_at = row["next_attempt_at"]
    if due_at.tzinfo is None:  # SQLite gives it back without its zone (stored in UTC)
        due_at = due_at.replace(tzinfo=timezone.utc)
    return float(max(0.0, (due_at - _now()).total_seconds())) + 0.005


def outbox_row(engine: sa.engine.Engine, request_id: int) -> Optional[int]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(email_outbox.c.id)
                             .where(email_outbox.c.booking_request_id == request_id)).scalar()
    return None if found is None else int(found)


async def deliver(request_id: int) -> None:
    """The action server's immediate delivery of a booking request's email, with its
    retries while this process lives; the worker takes over if it does not."""
    engine = engine_for(Settings.from_env().database.url)
    smtp = SmtpSettings.from_env(os.environ)
    row_id = await asyncio.to_thread(outbox_row, engine, request_id)
    if row_id is None:
        return
    if smtp is None:
        logger.warning("SMTP_HOST/CLINIC_NOTIFY_EMAIL not set: booking request %s saved, "
                       "no email sent", request_id)
    while True:
        result = await asyncio.to_thread(attempt, engine, row_id, smtp)
        if result is not False:  # sent, or taken by another process
            return
        wait = await asyncio.to_thread(seconds_until_due, engine, row_id)
        if wait is None:  # given up
            return
        await asyncio.sleep(wait)


def run_worker(stop: Optional[list[bool]] = None) -> None:
    """Sends what is due, once a second, until stopped (SIGTERM or SIGINT)."""
    stopping = stop if stop is not None else [False]

    def halt(*_: object) -> None:
        stopping[0] = True

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)
    engine = engine_for(Settings.from_env().database.url)
    smtp = SmtpSettings.from_env(os.environ)
    if smtp is None:
        logger.warning("email is not configured (SMTP_HOST, CLINIC_NOTIFY_EMAIL): the outbox "
                       "worker gives each email up after one try")
    print("Staff email outbox worker: sending what is due", flush=True)
    while not stopping[0]:
        try:
            for row_id in due(engine):
                attempt(engine, row_id, smtp)
        except sa.exc.DBAPIError as error:  # the database is down or restarting: wait, go on
            logger.warning("outbox: the database cannot be reached (%s); trying again in %s s",
                           type(error.orig).__name__, OUTAGE_WAIT_SECONDS)
            time.sleep(OUTAGE_WAIT_SECONDS)
        time.sleep(POLL_SECONDS)


def main(argv: Optional[list[str]] = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its start-up lines say nothing here
    run_worker()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
