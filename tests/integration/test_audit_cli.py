"""`impress-ledger audit` on a real ledger: digest, verify (exit 0 whole / 1 differs / 2 bad
input), history exports with their links, and replay as of an earlier moment, which must give
exactly what the ledger gave then. The story is test_cli's: IMP-0042's 16-week assessment is
recorded late, after a statement was issued."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli.audit as cli_audit  # registers its commands
import cli.core  # noqa: F401
import cli.ledger  # noqa: F401
from cli.main import app
from domain import commands as c
from application.ledger import Ledger
from eventstore import EventLog
from domain.values import Outcome
from tests.integration.test_cli import OFFICE, PID, Story, build_story
from tests.integration.test_tamper import tampering
from tests.support import d


def cli(story: Story, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--database", story.url])


def ok_json(story: Story, *args: str) -> Any:
    result = cli(story, *args, "--json")
    assert result.exit_code == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """test_cli's story, plus a correction of the late assessment (read-only from here on)."""
    built = build_story(f"sqlite:///{tmp_path_factory.mktemp('audit')}/ledger.db")
    ledger = Ledger(EventLog(built.url))
    try:
        ledger.execute(c.CorrectAssessment(patient_id=PID, assessed_on=d("2023-09-28"),
                                           outcome=Outcome.OBJECTIVE_RESPONSE,
                                           reason="the report was revised"), OFFICE)
    finally:
        ledger.close()
    return built


def test_a_saved_digest_verifies_with_exit_status_0(story: Story, tmp_path: Path) -> None:
    saved = tmp_path / "digest.json"
    assert cli(story, "audit", "digest", "--output", str(saved)).exit_code == 0
    digest = json.loads(saved.read_text())
    assert set(digest) == {"chain", "position", "hash", "recorded_at"}
    earlier = json.loads(cli(story, "audit", "digest", "--position", str(story.issued)).stdout)

    result = cli(story, "audit", "verify", "--digest", str(saved))
    assert result.exit_code == 0 and "the chain is whole" in result.stdout
    assert "digest at position" in result.stdout and "matches" in result.stdout
    both = ok_json(story, "audit", "verify", "--digest", json.dumps([earlier, digest]))
    assert both["ok"] and both["checked"] == digest["position"] == both["head"]["position"]
    assert [x["matches"] for x in both["digests"]] == [True, True]


def test_verify_shows_a_progress_bar_on_long_runs(story: Story,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_audit, "PROGRESS_FROM", 0)
    assert cli(story, "audit", "verify").exit_code == 0


@pytest.mark.parametrize("args, says", [
    (["audit", "verify", "--digest", "no-such-file.json"], "no such file"),
    (["audit", "verify", "--digest", '{"position": 1}'], "hash must be 64"),
    (["audit", "verify", "--digest", "[]"], "no digest given"),
    (["audit", "digest", "--position", "99999"], "no position 99999"),
    (["audit", "history", "drug", "lynparza"], "'drug' is not one of"),
    (["audit", "history", "patient", "IMP-9999"], "no enrolled patient 'IMP-9999'"),
    (["audit", "history", "patient", PID, "--format", "xml"], "'--format': 'xml' is not one of"),
    (["audit", "replay"], "--known-at MOMENT or --position N"),
    (["audit", "replay", "--position", "3", "--statement", "company"], "needs a period"),
    (["audit", "replay", "--position", "3", "--from", "2023-01-01"], "both --from and --to"),
])
def test_bad_input_exits_2_with_one_line(story: Story, args: list[str], says: str) -> None:
    result = cli(story, *args)
    assert result.exit_code == 2, result.stdout
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_tampered_log_exits_1_naming_the_position(database_url: str) -> None:
    built = build_story(database_url)
    saved = cli(built, "audit", "digest").stdout
    with EventLog(built.url) as log, tampering(log) as t:
        state = t.state(built.assessment)
        assert b"stable_disease" in state
        t.set_state(built.assessment, state.replace(b"stable_disease", b"objective_response"))
    result = cli(built, "audit", "verify", "--digest", saved)
    assert result.exit_code == 1
    assert f"HISTORY DIFFERS at position {built.assessment} (changed)" in result.stdout
    found = json.loads(cli(built, "audit", "verify", "--json").stdout)
    assert found["first_difference"]["position"] == built.assessment == found["checked"] + 1


# --- history ---------------------------------------------------------------------------------

def test_history_lists_every_fact_about_a_patient_with_corrections_linked(story: Story) -> None:
    rows = [json.loads(line) for line in
            cli(story, "audit", "history", "patient", PID).stdout.splitlines()]
    assert [r["position"] for r in rows] == sorted(r["position"] for r in rows)
    types = [r["type"] for r in rows]
    assert {"PatientEnrolled", "PatientAdmitted", "PatientSlotUsed", "AssessmentRecorded",
            "AssessmentCorrected"} <= set(types)
    [recorded] = [r for r in rows if r["type"] == "AssessmentRecorded"]
    [correction] = [r for r in rows if r["type"] == "AssessmentCorrected"]
    assert correction["corrects"] == recorded["ref"]
    assert recorded["corrected_by"] == [correction["ref"]]
    assert recorded["actor"]["subject"] == "trial-office:kari" and recorded["recorded_at"]
    assert recorded["data"]["outcome"] == "stable_disease" and recorded["schema"] == 2
    derived = [r for r in rows if r["basis"]]
    assert derived and all(r["actor"]["role"] == "system" for r in derived)


def test_history_exports_as_csv_with_the_same_facts(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "h.csv"
    assert cli(story, "audit", "history", "patient", PID, "--format", "csv",
               "--output", str(out)).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    jsonl = cli(story, "audit", "history", "patient", PID).stdout.splitlines()
    assert [r["ref"] for r in rows] == [json.loads(x)["ref"] for x in jsonl]
    [corrected] = [r for r in rows if r["type"] == "AssessmentRecorded"]
    assert corrected["corrected_by"].startswith(f"patient/{PID}@")
    assert json.loads(corrected["data"])["outcome"] == "stable_disease"


def test_history_of_a_cohort_and_an_agreement_names_the_facts_about_them(story: Story) -> None:
    cohort = [json.loads(x) for x in
              cli(story, "audit", "history", "cohort", "olaparib-brca").stdout.splitlines()]
    assert {"CohortOpened", "GroupExemptionGranted", "PatientAdmitted", "PatientEnrolled",
            "PatientSlotUsed"} <= {r["type"] for r in cohort}
    agreement = [json.loads(x) for x in
                 cli(story, "audit", "history", "agreement", "nordlys-impress").stdout.splitlines()]
    assert {"AgreementSigned", "DrugContributed", "CohortOpened", "PatientEnrolled"} <= {
        r["type"] for r in agreement}
    assert all(r["stream"] != "agreement/fjord-impress" for r in agreement)


# --- replay ----------------------------------------------------------------------------------

def test_replay_as_of_the_issue_gives_what_the_ledger_gave_then(story: Story) -> None:
    then = ok_json(story, "audit", "replay", "--position", str(story.issued), "--on", "2023-10-02")
    by_moment = ok_json(story, "audit", "replay", "--known-at", story.issued_at,
                        "--on", "2023-10-02")
    now = ok_json(story, "audit", "replay", "--position", str(story.assessment),
                  "--on", "2023-10-02")
    payer = {r["patient_id"]: r["payer"] for r in then["payers"]}
    assert payer[PID] == "pending" and then["as_of"]["position"] == story.issued
    assert by_moment["payers"] == then["payers"] and by_moment["as_of"]["hash"] == \
        then["as_of"]["hash"]
    assert {r["patient_id"]: r["payer"] for r in now["payers"]}[PID] == "public"
    digest = json.loads(cli(story, "audit", "digest", "--position", str(story.issued)).stdout)
    assert {k: then["as_of"][k] for k in digest} == digest


def test_replayed_statements_equal_the_statements_as_issued(story: Story) -> None:
    period = ["--from", "2023-10-01", "--to", "2023-12-31"]
    replayed = ok_json(story, "audit", "replay", "--position", str(story.issued),
                       "--statement", "company", "--statement", "public-cost", *period)
    issued = [ok_json(story, "statement", kind, "--position", str(story.issued), *period)
              for kind in ("company", "public-cost")]
    assert replayed["statements"] == issued
    assert [i["payer"] for t in replayed["timelines"] if t["patient_id"] == PID
            for i in t["intervals"]][-1] == "pending"


def test_replay_table_for_people(story: Story) -> None:
    result = cli(story, "audit", "replay", "--position", str(story.issued), "--statement",
                 "public-cost", "--from", "2023-10-01", "--to", "2023-12-31")
    assert result.exit_code == 0
    assert f"As of log position {story.issued}" in result.stdout and "Public cost" in result.stdout
