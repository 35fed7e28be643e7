"""The benchmark's history generator is deterministic and realistic enough that the ledger
accepts every step of it; the runner goes through all its phases at a tiny size.

No figure is asserted here: timings belong in docs/benchmarks.md, never in the test suite.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest

from bench.generate import SIZES, Size, digest, steps
from bench.ingest import Clock, bulk, single
from bench.world import START, World
from domain import commands as c
from application.ledger import Ledger
from domain.values import LEDGER

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_the_same_seed_gives_the_same_history_and_another_seed_another() -> None:
    assert digest(steps("smoke")) == digest(steps("smoke"))
    assert digest(steps("smoke", seed=7))[1] != digest(steps("smoke"))[1]


def test_a_history_is_produced_day_by_day_with_the_ledger_today_of_each_step() -> None:
    days = [s.today for s in steps("tiny")]
    assert days == sorted(days)
    assert days[0] == START


def test_a_history_holds_every_kind_of_fact_the_ledger_records() -> None:
    kinds = Counter(type(s.command).__name__ for s in steps("smoke"))
    assert kinds["EnrolPatient"] == SIZES["smoke"].patients
    for kind in ("StartTreatment", "DispenseDrug", "RecordAssessment", "EndTreatment",
                 "TransferPatient", "CorrectTreatmentStart", "CorrectAssessment",
                 "CorrectEnrolmentHf", "AdvanceStage", "GrantGroupExemption", "InvoiceGrant",
                 "RecordGrantPayment", "SignAgreement", "SetPrice", "Tick"):
        assert kinds[kind] > 0, kind


def test_the_ledger_refuses_no_step_one_by_one_or_in_bulk() -> None:
    history = list(steps(Size("test", 120, 200)))
    for run in (single, bulk):
        clock = Clock(START)
        ledger = Ledger.open("sqlite:///:memory:")
        ledger.clock = clock
        try:
            ledger.install_reference(LEDGER, START)
            tally = run(ledger, clock, history)
            assert tally.refused == []
            assert tally.commands == sum(not isinstance(s.command, c.Tick) for s in history)
        finally:
            ledger.close()


def test_the_runner_goes_through_every_phase_at_a_tiny_size(tmp_path: Path) -> None:
    from bench import run

    results = tmp_path / "results"
    common = ["--size", "tiny", "--db", "sqlite", "--workdir", str(tmp_path / "work"),
              "--results", str(results), "--queries", "40", "--http-requests", "20",
              "--repeat", "2", "--pages", "10", "--http-seconds", "0.5", "--http-rounds", "1"]
    run.main([*common, "--import-lines", "150", "--keep"])
    result = json.loads((results / "tiny-sqlite.json").read_text())
    ingest = result["ingest"]
    assert ingest["bulk"]["refused"] == ingest["single"]["refused"] == 0
    # the raw baselines wrote exactly the rows the app wrote (after the health trusts),
    # interleaved with it
    from domain.reference import health_trusts

    assert ingest["bulk"]["raw"]["rows"] + ingest["single"]["raw"]["rows"] \
        == ingest["events"] - len(health_trusts())
    assert "error" not in ingest["imports"]["cli"] and "error" not in ingest["imports"]["http"]
    assert ingest["imports"]["http"]["commands"] == 150
    rebuild = result["rebuild"]
    assert rebuild["rebuild"]["events"] == ingest["events"]
    assert rebuild["raw_read_before"]["events"] == rebuild["raw_read_after"]["events"] \
        == rebuild["log_read"]["events"] < ingest["events"]  # the rows the projector reads
    assert set(result["who_pays"]["http_statuses"]) == {"200"}
    side = result["read_side"]
    assert side["public_cost"]["n"] == side["restatement"]["n"] == side["worklist"]["n"] == 2
    assert side["payers_page"]["n"] == 10 and side["tick"]["nothing_due"]["facts"] == 0
    bundle = result["bundles"]
    assert "error" not in bundle, bundle
    assert bundle["facts"] > 0 and bundle["build_ms"]["n"] == bundle["verify_ms"]["n"] == 2
    resting = bundle["resting"]  # the same quarter resting on the previous one's (ADR 0031)
    assert resting["build_ms"]["n"] == resting["verify_ms"]["n"] == 2
    assert 0 < resting["facts"] <= bundle["facts"] and resting["store_fill_ms"] > 0
    assert set(result["goals"]) >= {"rebuild_ge_0.3_raw_read", "who_pays_http_p99_le_15ms",
                                    "bundle_build_quarter_le_2000ms", "bundle_verify_le_2000ms",
                                    "bundle_resting_build_le_2000ms",
                                    "public_cost_rhf_year_le_1000ms", "payers_page_p99_le_50ms",
                                    "tick_nothing_due_le_1s", "tick_1pct_due_le_5s"}

    from bench import report

    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nprose\n\n{report.START}\nold\n{report.END}\n\nmore prose\n")
    report.main(["--results", str(results), "--doc", str(doc)])
    text = doc.read_text()
    assert "prose" in text and "more prose" in text and "\nold\n" not in text
    assert "| tiny (60 patients), sqlite |" in text
    assert (tmp_path / "benchmarks-latency.png").stat().st_size > 0

    # --again: the read side once more on the kept ledger; the earlier run's ingest is kept
    # and named, the read side and the rebuild are measured anew
    run.main([*common, "--again"])
    again = json.loads((results / "tiny-sqlite.json").read_text())
    assert again["again"]["earlier"]["date"] == result["date"]
    assert again["ingest"] == result["ingest"] and again["history_sha256"] == result["history_sha256"]
    # the earlier run's read side recorded a few facts of its own (a tick, a signed head)
    assert ingest["events"] <= again["rebuild"]["rebuild"]["events"] <= ingest["events"] + 10
    assert again["read_side"]["public_cost"]["n"] == 2 and "error" not in again["bundles"]
    assert again["read_side"]["tick"]["some_due"] == side["tick"]["some_due"]
    assert again["goals"].keys() == result["goals"].keys()
    # only some phases: the others keep the figures they had
    run.main([*common, "--again", "--again-phases", "read_side"])
    once_more = json.loads((results / "tiny-sqlite.json").read_text())
    assert once_more["again"]["phases"] == ["read_side"]
    assert once_more["rebuild"] == again["rebuild"] and once_more["bundles"] == again["bundles"]
    assert once_more["read_side"]["public_cost"]["n"] == 2


def test_only_the_agenda_of_patients_on_treatment_is_held_not_the_history() -> None:
    world = World(patients=300, days=400, seed=1)
    stream = world.steps()
    for _ in islice(stream, 2500):
        assert len(world.agenda) < 1000
