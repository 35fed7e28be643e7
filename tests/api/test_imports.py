"""Bulk import: all or nothing per file; every bad line reported by its number."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.api.support import EXAMPLE, Api, settings_for


def line(command: str, **args: Any) -> str:
    return json.dumps({"command": command, "args": args})


GOOD = line("DispenseDrug", patient_id="IMP-0042", packs=1, dispensed_on="2023-07-01")


def refused_lines(answer: Any) -> dict[int, str]:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["type"].endswith("/import-refused")
    return {x["line"]: x["type"].rsplit("/", 1)[1] for x in body["lines"]}


def test_every_bad_line_is_reported_and_nothing_is_recorded(api: Api) -> None:
    head = api.ledger.log.head()
    text = "\n".join([
        GOOD,
        '{"command": "DispenseDrug", "args": {',
        line("PayEverything", patient_id="IMP-0042"),
        "",  # blank lines are skipped, but still counted
        line("DispenseDrug", patient_id="IMP-0042", packs=1, dispensed_on="2023-02-30"),
        line("EnrolPatient", patient_id="IMP-0400", cohort_id="no-such-cohort", hf_id="ous",
             enrolled_on="2023-01-01"),
        line("StartTreatment", patient_id="IMP-0400", started_on="2023-01-02"),
        '["not", "an", "object"]',
        GOOD.replace('"packs": 1', '"packs": 1, "extra": true'),
    ])
    assert refused_lines(api.post("/v1/imports", "migration", text)) == {
        2: "malformed-json", 3: "unknown-command", 5: "invalid-request", 6: "unknown-cohort",
        7: "unknown-patient", 8: "invalid-request", 9: "invalid-request"}
    assert api.ledger.log.head() == head


def test_a_good_file_is_recorded_at_once(api: Api) -> None:
    head = api.ledger.log.head()
    answer = api.post("/v1/imports", "migration", "\n".join([GOOD, GOOD, ""]))
    assert answer.status_code == 201
    body = answer.json()
    assert body["lines"] == 2 and body["position"] == api.ledger.log.head()
    assert [f["type"] for f in body["facts"]] == ["DrugDispensed", "DrugDispensed"]
    assert body["facts"][0]["position"] == head + 1


def test_a_role_imports_only_the_commands_it_may_record(api: Api) -> None:
    text = "\n".join([GOOD, line("RegisterCompany", company_id="sneaky", name="Sneaky AS",
                                 registered_on="2021-01-01")])
    assert refused_lines(api.post("/v1/imports", "trial_office", text)) == {2: "forbidden"}
    assert api.post("/v1/imports", "partner", GOOD).status_code == 403


def test_an_empty_file_or_another_media_type_is_refused(api: Api) -> None:
    assert refused_lines(api.post("/v1/imports", "migration", "\n\n")) == {0: "invalid-request"}
    answer = api.client.post("/v1/imports", json={"command": "x"},
                             headers=api.auth("migration"))
    assert answer.status_code == 415


def test_the_example_in_the_docs_imports_with_the_cli_and_refuses_a_second_time(
        tmp_path: Path) -> None:
    env = {**os.environ, "IMPRESS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
           "IMPRESS_DATA_DIR": str(tmp_path / "data")}
    cli = [sys.executable, "-c", "from cli.main import main; main()", "import", str(EXAMPLE)]
    first = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "24 commands imported" in first.stdout
    second = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert f"{EXAMPLE}:1: RegisterCompany: already-recorded" in second.stderr
    assert "nothing was recorded" in second.stderr
    api = Api(settings_for(tmp_path))
    try:
        answer = api.get("/v1/patients/IMP-0042/payer?on=2023-10-02", "auditor").json()
        assert answer["payer"]["party"] == "helse-vest"
        actor = api.get("/v1/patients/IMP-0042/history", "auditor").json()["facts"][0]["actor"]
        assert actor["role"] == "migration" and actor["subject"].startswith("cli:")
    finally:
        api.close()
