"""What patients typed into a handoff or a booking request (names, the visit's reason,
preferred times) is hidden like phone numbers until a member of staff reveals it, and
each reveal is recorded."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from clinic_assistant.clinic.db import booking_requests, engine_for, handoff_tickets
from tests.staff.conftest import post_form
from tests.staff.test_console import audit

BOOKING_TEXT = ("Bo Lee", "jaw pain", "Tuesday afternoon", "+17805550199")
HANDOFF_CONTACT = "Contact: Ann"  # the ticket's contact name


def _ids(url: str) -> tuple[int, int]:
    with engine_for(url).connect() as conn:
        return (int(conn.execute(sa.select(handoff_tickets.c.id)).scalar_one()),
                int(conn.execute(sa.select(booking_requests.c.id)).scalar_one()))


def items_box(html: str) -> str:
    """The transcript page's handoff and booking boxes."""
    assert 'id="items-title"' in html
    return html.split('id="items-title"')[1].split("</section>")[0]


def test_the_queue_page_hides_names_reasons_and_times(signed_in: Any) -> None:
    page = signed_in.get("/queues").get_data(as_text=True)
    for text in (*BOOKING_TEXT, HANDOFF_CONTACT):
        assert text not in page
    assert "[name hidden]" in page and "[text hidden]" in page


def test_revealing_one_queue_item_shows_it_once_and_is_recorded(signed_in: Any, clinic_db: str) -> None:
    ticket_id, booking_id = _ids(clinic_db)
    shown = post_form(signed_in, "/queues?status=all", f"/queues/booking/{booking_id}/reveal",
                      {"status": "all"})
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    for text in BOOKING_TEXT:
        assert text in html
    assert HANDOFF_CONTACT not in html  # only the item asked for
    assert 'name="back" value="/queues?status=all"' in html  # a status change returns to the queue
    rows = audit(clinic_db, "reveal_queue_item")
    assert [(r["username"], r["conversation_id"], r["detail"]) for r in rows] == [
        ("anna", "conv-booking", f"booking {booking_id}")]

    ticket = post_form(signed_in, "/queues", f"/queues/handoff/{ticket_id}/reveal", {"status": "open"})
    assert HANDOFF_CONTACT in ticket.get_data(as_text=True)
    assert "Bo Lee" not in ticket.get_data(as_text=True)
    assert "Bo Lee" not in signed_in.get("/queues").get_data(as_text=True)  # hidden again
    assert len(audit(clinic_db, "reveal_queue_item")) == 2


def test_revealing_an_item_that_does_not_exist(signed_in: Any, clinic_db: str) -> None:
    assert post_form(signed_in, "/queues", "/queues/booking/999/reveal", {}).status_code == 404
    assert post_form(signed_in, "/queues", "/queues/nothing/1/reveal", {}).status_code == 404
    assert signed_in.get("/queues/booking/1/reveal").status_code == 405
    assert audit(clinic_db, "reveal_queue_item") == []


def test_the_transcripts_item_boxes_hide_names_and_booking_text(signed_in: Any) -> None:
    booking = items_box(signed_in.get("/conversations/conv-booking").get_data(as_text=True))
    for text in BOOKING_TEXT:
        assert text not in booking
    handoff = items_box(signed_in.get("/conversations/conv-handoff").get_data(as_text=True))
    assert HANDOFF_CONTACT not in handoff

    revealed = post_form(signed_in, "/conversations/conv-booking", "/conversations/conv-booking/reveal", {})
    box = items_box(revealed.get_data(as_text=True))
    for text in BOOKING_TEXT:
        assert text in box
    # a status change from the revealed page returns to the transcript, not to the
    # reveal address (a POST-only page)
    assert 'name="back" value="/conversations/conv-booking"' in box
