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
    init = [*cli[:3], "init"]  # only init creates a ledger
    assert subprocess.run(init, env=env, capture_output=True, timeout=120).returncode == 0
    first = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "24 commands imported" in first.stdout
    second = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    # The same file again: said once, not every line refused as already recorded.
    assert second.stderr.count("\n") == 1, second.stderr
    assert "was imported already" in second.stderr and "nothing was recorded" in second.stderr
    api = Api(settings_for(tmp_path))
    try:
        answer = api.get("/v1/patients/IMP-0042/payer?on=2023-10-02", "auditor").json()
        assert answer["payer"]["party"] == "helse-vest"
        actor = api.get("/v1/patients/IMP-0042/history", "auditor").json()["facts"][0]["actor"]
        assert actor["role"] == "migration" and actor["subject"].startswith("cli:")
    finally:
        api.close()


def test_lines_are_split_on_line_feeds_only_and_a_byte_order_mark_is_accepted(api: Api) -> None:
    # U+2028 and U+0085 are inside a JSON string, not line ends: one command on line 1.
    reason = "first dose\u2028moved\u0085"
    note = line("CorrectTreatmentStart", patient_id="IMP-0042", started_on="2023-06-13",
                reason="x").replace('"x"', json.dumps(reason, ensure_ascii=False))
    bad = line("DispenseDrug", patient_id="IMP-0042", packs=0, dispensed_on="2023-07-01")
    text = "\ufeff" + note + "\r\n" + bad + "\n"
    # Line 1 is parsed (the BOM is not part of it) and refused for its control characters;
    # line 2 is line 2, not line 4.
    assert refused_lines(api.post("/v1/imports", "migration", text)) == {
        1: "control-character", 2: "invalid-request"}
    good = "\ufeff" + GOOD + "\r\n" + GOOD.replace("07-01", "07-02") + "\n"
    answer = api.post("/v1/imports", "migration", good)
    assert answer.status_code == 201 and answer.json()["lines"] == 2


def test_the_same_file_imported_again_is_said_to_be_recorded_already(api: Api) -> None:
    text = "\n".join([GOOD, line("DispenseDrug", patient_id="IMP-0042", packs=2,
                                 dispensed_on="2023-07-02")])
    first = api.post("/v1/imports", "migration", text)
    assert first.status_code == 201
    head = api.ledger.log.head()
    again = api.post("/v1/imports", "trial_office", text + "\n")  # another importer, same file
    assert again.status_code == 409
    problem = again.json()
    assert problem["type"].endswith("/import-already-recorded")
    lo, hi = first.json()["facts"][0]["position"], first.json()["position"]
    assert problem["first_position"] == lo and problem["last_position"] == hi
    assert "nothing was recorded" in problem["detail"]
    assert api.ledger.log.head() == head
    # A retry with its Idempotency-Key is still a replay, not a refusal.
    keyed = "\n".join([GOOD.replace("07-01", "07-03")])
    k = {"Idempotency-Key": "import-k"}
    assert api.post("/v1/imports", "migration", keyed, headers=k).status_code == 201
    replay = api.post("/v1/imports", "migration", keyed, headers=k)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"


def test_a_file_of_many_bad_lines_lists_the_first_hundred_and_counts_all(api: Api) -> None:
    text = "\n".join(["{not json"] * 5000)
    answer = api.post("/v1/imports", "migration", text)
    assert answer.status_code == 422
    body = answer.json()
    assert len(body["lines"]) == 100 and body["lines"][-1]["line"] == 100
    assert body["errors"] == 5000
    assert body["detail"].startswith("5000 bad lines of 5000; the first 100 are listed")
    assert len(answer.content) < 40_000


def test_the_cli_lists_the_first_hundred_bad_lines_and_counts_all(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\ufeff" + "\n".join(["{not json"] * 250), encoding="utf-8")
    env = {**os.environ, "IMPRESS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
           "IMPRESS_DATA_DIR": str(tmp_path / "data")}
    cli = [sys.executable, "-c", "from cli.main import main; main()", "import", str(bad)]
    assert subprocess.run([*cli[:3], "init"], env=env, capture_output=True,
                          timeout=120).returncode == 0
    run = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert lines[0] == f"{bad}:1: -: malformed-json: the line is not one JSON object"
    assert len([x for x in lines if x.startswith(f"{bad}:")]) == 100
    assert lines[-1] == "impress-ledger: 250 bad lines of 250 (the first 100 listed); nothing was recorded"
