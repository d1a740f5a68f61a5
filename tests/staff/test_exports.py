"""Exports that open safely: CSV a spreadsheet cannot run as formulas, NLU YAML that a
patient's stray control characters cannot break."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from typing import Any

import yaml

from clinic_assistant.clinic.db import message_marks, engine_for
from staff import exports


def record(text: Any, **other: Any) -> dict[str, Any]:
    return {"conversation_id": "conv-1", "channel": "rest", "time": "2024-05-01T10:00:00+00:00",
            "sender": "user", "text": text, "intent": None, "confidence": 0.5, **other}


def test_every_csv_field_is_quoted() -> None:
    lines = exports.as_csv([record("plain words"), record("", intent="greet")]).splitlines()
    assert lines == [
        '"conversation_id","channel","time","sender","text","intent","confidence"',
        '"conv-1","rest","2024-05-01T10:00:00+00:00","user","plain words","","0.5"',
        '"conv-1","rest","2024-05-01T10:00:00+00:00","user","","greet","0.5"',
    ]


def test_csv_cells_cannot_start_a_formula() -> None:
    texts = {
        "=HYPERLINK(\"http://evil\")": "'=HYPERLINK(\"http://evil\")",
        "+1 780": "'+1 780",
        "-2+3": "'-2+3",
        "@SUM(A1)": "'@SUM(A1)",
        "\t=1+1": "'\t=1+1",
        "\r=1+1": "'\r=1+1",
        "": "",  # empty cells stay empty
        " =1": " =1",  # not a formula
        "a=1": "a=1",
    }
    out = exports.as_csv([record(text, conversation_id="-id") for text in texts])
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [row["text"] for row in rows] == list(texts.values())
    assert {row["conversation_id"] for row in rows} == {"'-id"}  # every column
    assert {row["intent"] for row in rows} == {""}  # no value: an empty cell


def test_the_conversation_export_is_quoted(signed_in: Any) -> None:
    body = signed_in.get("/exports/conversations.csv?urgent=yes").get_data(as_text=True)
    assert body.startswith('"conversation_id","channel",')
    assert '"conv-urgent","rest",' in body


CONTROL = "knee\x1b[31m hurts\x07 when\x85I\u2028run\x7f\x9b fast\ufffe\x0b\x0c\x1f."


def _mark(url: str, event_id: int, text: str, intent: str | None) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(message_marks.insert().values(
            conversation_id="conv-faq", event_id=event_id, text=text, predicted_intent=None,
            correct_intent=intent, username="anna", created_at=datetime.now(timezone.utc)))


def test_control_characters_cannot_break_the_nlu_export(signed_in: Any, clinic_db: str) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    nul = "\x00" if clinic_db.startswith("sqlite") else ""  # PostgreSQL refuses NUL in text
    _mark(clinic_db, 900001, CONTROL + nul, "faq_price")
    _mark(clinic_db, 900002, f"new\x1b question{nul}\x01", None)
    _mark(clinic_db, 900003, "\x00\x1b\x07" if nul else "\x1b\x07", "faq_price")  # nothing left
    answer = signed_in.get("/exports/nlu.yml")
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert yaml.safe_load(text)["nlu"][0]["intent"] == "faq_price"
    data = RasaYAMLReader().reads(text)
    assert [(m.get("intent"), m.get("text")) for m in data.intent_examples] == [
        ("faq_price", "knee [31m hurts when I run fast .")]
    assert "#   - new question" in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe]", text)
    assert "# Control characters were taken out of 3 of these messages" in text  # a note for the reader
