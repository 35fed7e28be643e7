"""Control characters are refused in every text field at the edge (their own problem type,
nothing recorded), and exports of text already stored never fail on them."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook

from domain import commands as c
from domain.values import Actor
from tests.api.support import Api

CORRECTION = "/v1/patients/IMP-0042/corrections/treatment-start"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTROLS = ["\x07", "\x00", "\n", "\t", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u202e"]


@pytest.mark.parametrize("control", CONTROLS, ids=lambda s: f"U+{ord(s[0]):04X}")
def test_a_reason_with_a_control_character_is_refused_and_nothing_recorded(
        api: Api, control: str) -> None:
    head = api.ledger.log.head()
    answer = api.post(CORRECTION, "trial_office",
                      {"started_on": "2023-06-11", "reason": f"typed{control}wrong"})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"].endswith("/control-character")
    assert problem["detail"].startswith("body.reason: holds a control character")
    assert f"U+{ord(control[0]):04X}" in problem["detail"]
    assert api.ledger.log.head() == head


@pytest.mark.parametrize("path,body", [
    ("/v1/companies", {"company_id": "ctl-co", "name": "Bell\x07 AS", "registered_on": "2021-01-04"}),
    ("/v1/cohorts/olaparib-brca/closure", {"closed_on": "2024-06-30", "reason": "done\r\n"}),
    ("/v1/patients/IMP-0042/grant/invoices", {"invoice_ref": "INV\x001", "invoiced_on": "2023-07-01"}),
])
def test_every_kind_of_text_field_refuses_control_characters(api: Api, path: str,
                                                             body: dict[str, str]) -> None:
    role = {"/v1/companies": "procurement"}.get(path, "trial_office")
    answer = api.post(path, role, body)
    assert answer.status_code == 422 and answer.json()["type"].endswith("/control-character")


def test_plain_text_with_letters_of_any_language_is_accepted(api: Api) -> None:
    answer = api.post(CORRECTION, "trial_office",
                      {"started_on": "2023-06-11", "reason": "første dose på Ålesund — ok «x»"})
    assert answer.status_code == 201


def test_an_import_line_with_a_control_character_is_reported_by_its_own_type(api: Api) -> None:
    line = json.dumps({"command": "CorrectTreatmentStart", "args": {
        "patient_id": "IMP-0042", "started_on": "2023-06-11", "reason": "bell\x07"}})
    answer = api.post("/v1/imports", "migration", line + "\n")
    assert answer.status_code == 422
    assert answer.json()["lines"][0]["type"].endswith("/control-character")


def test_a_restatement_exports_control_characters_already_stored(api: Api) -> None:
    issued = api.ledger.log.head()
    # Stored before the edge refused them (or by a writer that skipped it): exports must cope.
    stored = "typed\x07 at the desk\x1b =HYPERLINK(\"x\")"
    api.ledger.execute(c.CorrectTreatmentStart(patient_id="IMP-0042", started_on=date(2023, 6, 11),
                                               reason=stored),
                       Actor(subject="old-writer", role="trial_office", organisation="impress"))
    for fmt in ("xlsx", "csv&table=changes", "zip", "json"):
        answer = api.get(f"/v1/statements/company/restatement?from=2021-01-01&to=2025-12-31"
                         f"&issued_position={issued}&format={fmt}", "auditor")
        assert answer.status_code == 200, (fmt, answer.text[:300])
    book = load_workbook(io.BytesIO(answer_xlsx(api, issued)))
    cells = [v for s in book.worksheets for row in s.iter_rows(values_only=True) for v in row]
    shown = [v for v in cells if isinstance(v, str) and "at the desk" in v]
    assert shown == ['typed\\x07 at the desk\\x1b =HYPERLINK("x")']


def answer_xlsx(api: Api, issued: int) -> bytes:
    answer = api.get(f"/v1/statements/company/restatement?from=2021-01-01&to=2025-12-31"
                     f"&issued_position={issued}&format=xlsx", "auditor")
    assert answer.headers["content-type"].startswith(XLSX)
    return bytes(answer.content)
