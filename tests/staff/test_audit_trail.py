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
    assert listing["detail"] == "q=knee+pain&handed_off=yes&page=2"
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
