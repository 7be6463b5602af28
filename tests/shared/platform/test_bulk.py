"""COPY's text format: every value a scan writes arrives in PostgreSQL exactly as it left Python."""

from __future__ import annotations

from shared.platform.bulk import Stage

AWKWARD = "tab\there, newline\nhere, return\rhere, backslash \\ and \\N, quote ' \" and ünïcödé"


def test_awkward_values_round_trip_through_a_stage(svc):
    stage = Stage("test_stage", (("text_value", "text"), ("number", "integer"), ("flag", "boolean"), ("doc", "jsonb")))
    rows = [
        (AWKWARD, 7, True, {"path": "C:\\temp\\new", "lines": "a\nb", "tab": "\t", "list": [1, 2.5, None, "\\N"]}),
        ("", None, False, []),
        (None, -1, None, {}),
    ]
    with svc.db.session() as session:
        stage.load(session, rows)
        stage.load(session, rows[:1])  # loading again in one transaction starts from an empty stage
        first = session.connection().exec_driver_sql("SELECT text_value, number, flag, doc FROM test_stage").all()
        stage.load(session, rows)
        stored = session.connection().exec_driver_sql("SELECT text_value, number, flag, doc FROM test_stage").all()
    assert [tuple(row) for row in first] == rows[:1]
    assert [tuple(row) for row in stored] == rows
