"""Who looked at what: the conversation list, the queues, "Improve the bot" and every
export are in the audit log, exports with the filters they followed."""
from __future__ import annotations

from typing import Any

from tests.staff.test_console import audit


def test_looking_at_lists_is_recorded_with_the_filters(signed_in: Any, clinic_db: str) -> None:
    signed_in.get("/conversations?handed_off=yes&q=knee+pain&page=2&unknown=x")
    signed_in.get("/queues?status=done")
    signed_in.get("/improve")
    [listing] = audit(clinic_db, "list_conversations")
    assert listing["username"] == "anna" and listing["conversation_id"] is None
    # a search's words may be a patient's name: only their length is kept
    assert listing["detail"] == "q=%289+characters%29&handed_off=yes&page=2"
    assert [row["detail"] for row in audit(clinic_db, "view_queues")] == ["status=done"]
    assert [row["username"] for row in audit(clinic_db, "view_improve")] == ["anna"]


def test_every_export_is_recorded_with_its_filters(signed_in: Any, clinic_db: str) -> None:
    signed_in.get("/exports/conversations.csv?channel=rest&urgent=yes&from=2024-01-01")
    signed_in.get("/exports/conversations.json")
    signed_in.get("/exports/nlu.yml")
    assert [row["detail"] for row in audit(clinic_db, "export")] == [
        "conversations csv, 1 exported; from=2024-01-01&channel=rest&urgent=yes",
        "conversations json, 6 exported",
        "nlu, 0 marked messages",
    ]


def test_forget_leaves_no_patient_detail_in_the_audit_log(signed_in: Any, clinic_db: str) -> None:
    """After forget, the audit log holds neither what staff searched for (a name, a
    number) nor the conversation's own id (an sms: id is a keyed hash of the number,
    and the same number writing again would get it back)."""
    from tests.staff.conftest import post_form
    from tests.staff.test_console import audit as rows

    signed_in.get("/conversations?q=Ann+780-555-0123")
    signed_in.get("/conversations/conv-handoff")
    post_form(signed_in, "/conversations/conv-handoff", "/conversations/conv-handoff/reveal", {})
    post_form(signed_in, "/conversations/conv-handoff", "/conversations/conv-handoff/forget",
              {"confirm": "conv-handoff"})
    everything = [row for action in ("list_conversations", "view_transcript", "reveal_contacts", "forget")
                  for row in rows(clinic_db, action)]
    # the details and who did it, apart from the random "forgotten:<hex>" ids and the
    # times (whose digits may happen to contain "780": "18:29:28.287809")
    text = repr([{k: v for k, v in row.items() if k not in ("conversation_id", "at")} for row in everything])
    ids = {row["conversation_id"] for row in everything}
    assert "780" not in text and "Ann" not in text and "conv-handoff" not in repr(ids)
    forgotten = {row["conversation_id"] for row in everything if row["action"] != "list_conversations"}
    assert len(forgotten) == 1 and forgotten.pop().startswith("forgotten:")
    assert [row["username"] for row in rows(clinic_db, "forget")] == ["anna"]
