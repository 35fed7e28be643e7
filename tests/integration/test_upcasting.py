"""Event schema versioning: facts stored in an older shape give the same answers as today's.

`AssessmentRecorded` schema 1 stored the response as typed, a RECIST abbreviation in `result`
("SD", " pr", "Stable disease"); schema 2 stores `outcome`, an Outcome. `PriceSet` schema 1 did
not say what a pack is; schema 2 has `pack` (None when not recorded). The fixture
tests/fixtures/old_events/assessments-v1.jsonl holds a whole small history as schema 1 wrote
it; it is appended through the EventLog as stored (schema 1 rows included), and compared with
the same story recorded today by commands (schema 2). Who pays, for every patient on every
date (the timelines), as known at each position, and the statements must not change; nor may
reading ever rewrite what is stored (the chain still verifies, the rows still say `result`).

Regenerate the fixture (only if the story changes): `python -m tests.integration.test_upcasting`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from domain import codec
from domain import commands as c
from application.ledger import Ledger
from domain.events import AssessmentRecorded, PriceSet
from domain.money import Money
from eventstore import EventLog, NewEvent, StoredFact
from domain.values import Actor, Decision, EndReason, Outcome
from audit.verify import verify
from reports.statements import Period, Scope, known_at
from domain.statements.company import company_statement
from domain.statements.public import public_cost

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "old_events" / "assessments-v1.jsonl"
LIS = Actor(subject="lis:per", role="procurement", organisation="sykehusinnkjop")
FORUM = Actor(subject="forum:anne", role="decision_forum", organisation="nye-metoder")
OFFICE = Actor(subject="trial-office:kari", role="trial_office", organisation="ous")

# patient, treating HF, start, what was typed at 16 weeks in schema 1 days, today's outcome
PATIENTS = [
    ("IMP-0101", "helse-bergen", date(2023, 1, 9), "SD", Outcome.STABLE_DISEASE),
    ("IMP-0102", "ous", date(2023, 2, 6), " pr ", Outcome.OBJECTIVE_RESPONSE),
    ("IMP-0103", "st-olavs", date(2023, 3, 6), "PD", Outcome.PROGRESSIVE_DISEASE),
    ("IMP-0104", "unn", date(2023, 3, 20), "Stable disease", Outcome.STABLE_DISEASE),
    ("IMP-0105", "helse-stavanger", date(2023, 4, 3), "NE", Outcome.NOT_EVALUABLE),
]
MONTH_ENDS = [date(2023, m, 28) for m in range(1, 13)]
ENDED = date(2023, 8, 1)  # IMP-0103's end of treatment: no dispensation after it


def record_story(ledger: Ledger) -> None:
    """The history, recorded by today's commands (so its assessments are schema 2)."""
    ledger.install_reference(LIS, date(2022, 1, 3))
    for command in [
        c.RegisterCompany(company_id="nordlys", name="Nordlys Pharma AS",
                          registered_on=date(2022, 1, 3)),
        c.RegisterDrug(drug_id="lynparza", brand="Lynparza", generic="olaparib",
                       company_id="nordlys", registered_on=date(2022, 1, 3)),
        c.SetPrice(drug_id="lynparza", price_per_pack=Money.of("12345.00", "NOK"),
                   effective_from=date(2022, 1, 1)),
        c.SignAgreement(agreement_id="nordlys-impress", company_id="nordlys",
                        signed_on=date(2022, 1, 5), grant_per_patient=Money.of(50000, "NOK")),
        c.ContributeDrug(agreement_id="nordlys-impress", drug_id="lynparza", patient_slots=150,
                         effective_from=date(2022, 1, 5)),
    ]:
        ledger.execute(command, LIS)
    ledger.execute(c.RecordIntroductionDecision(
        drug_id="lynparza", decision=Decision.INTRODUCED, case_ref="ID2019_041",
        indication="ovarian cancer", decided_on=date(2020, 6, 1)), FORUM)
    ledger.execute(c.OpenCohort(cohort_id="olaparib-brca", drug_id="lynparza",
                                agreement_id="nordlys-impress", indication="solid tumours",
                                molecular_profile="biallelic BRCA1/2", opened_on=date(2022, 1, 10),
                                evidence_ref="DRUP: first 24 patients"), OFFICE)
    ledger.execute(c.GrantGroupExemption(cohort_id="olaparib-brca", exemption_ref="BF-2022-01",
                                         effective_from=date(2022, 3, 21),
                                         decided_on=date(2022, 3, 21)), FORUM)
    for pid, hf, start, _, _ in PATIENTS:
        ledger.execute(c.EnrolPatient(patient_id=pid, cohort_id="olaparib-brca", hf_id=hf,
                                      enrolled_on=start), OFFICE)
        ledger.execute(c.StartTreatment(patient_id=pid, started_on=start), OFFICE)
        for week in range(0, 32, 4):  # every four weeks, while on treatment
            on = date.fromordinal(start.toordinal() + 7 * week)
            if pid != "IMP-0103" or on <= ENDED:
                ledger.execute(c.DispenseDrug(patient_id=pid, packs=2, dispensed_on=on), OFFICE)
    for pid, _, start, _, outcome in PATIENTS:
        assessed = date.fromordinal(start.toordinal() + 110)
        ledger.execute(c.RecordAssessment(patient_id=pid, assessed_on=assessed, outcome=outcome),
                       OFFICE)
    ledger.execute(c.CorrectAssessment(patient_id="IMP-0104", assessed_on=date(2023, 7, 8),
                                       outcome=Outcome.PROGRESSIVE_DISEASE,
                                       reason="the scan was re-read"), OFFICE)
    ledger.execute(c.EndTreatment(patient_id="IMP-0103", ended_on=ENDED,
                                  reason=EndReason.PROGRESSION), OFFICE)
    for today in MONTH_ENDS:
        ledger.tick(today)


def stored_row(f: StoredFact) -> dict[str, Any]:
    return {"stream": f.stream, "version": f.version, "type": f.type, "schema": f.schema,
            "data": f.data, "valid_on": f.valid_on.isoformat() if f.valid_on else None,
            "actor": f.actor}


def as_schema_1(row: dict[str, Any]) -> dict[str, Any]:
    """How schema 1 stored an assessment: the RECIST text as the trial office typed it; and a
    price: without what a pack is."""
    if row["type"] == "PriceSet":
        data = {k: v for k, v in row["data"].items() if k != "pack"}
        return row | {"schema": 1, "data": data}
    if row["type"] != "AssessmentRecorded":
        return row
    typed = next(text for pid, _, _, text, _ in PATIENTS if pid == row["data"]["patient_id"])
    data = {k: v for k, v in row["data"].items() if k != "outcome"} | {"result": typed}
    return row | {"schema": 1, "data": data}


def write_fixture(path: Path = FIXTURE) -> None:
    with EventLog("sqlite:///:memory:") as log:
        record_story(Ledger(log, clock=lambda: MONTH_ENDS[-1]))
        rows = [as_schema_1(stored_row(f)) for f in log.read()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                            for r in rows), encoding="utf-8")


def load_fixture(log: EventLog) -> None:
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        log.append([NewEvent(stream=r["stream"], version=r["version"], type=r["type"],
                             schema=r["schema"], data=r["data"], actor=r["actor"],
                             valid_on=date.fromisoformat(r["valid_on"]) if r["valid_on"] else None)])


@pytest.fixture
def old_and_new(database_url: str) -> Iterator[tuple[Ledger, Ledger]]:
    old = Ledger(EventLog(database_url), clock=lambda: MONTH_ENDS[-1])
    load_fixture(old.log)
    new = Ledger(EventLog("sqlite:///:memory:"), clock=lambda: MONTH_ENDS[-1])
    record_story(new)
    yield old, new
    old.close()
    new.close()


def test_the_fixture_holds_assessments_in_the_old_shape_and_today_writes_the_new() -> None:
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    old = [r for r in rows if r["type"] == "AssessmentRecorded"]
    assert len(old) == len(PATIENTS) and AssessmentRecorded.schema == 2
    assert all(r["schema"] == 1 and "result" in r["data"] and "outcome" not in r["data"]
               for r in old)
    assert {r["data"]["result"] for r in old} == {text for *_, text, _ in PATIENTS}
    prices = [r for r in rows if r["type"] == "PriceSet"]
    assert prices and all(r["schema"] == 1 and "pack" not in r["data"] for r in prices)
    assert PriceSet.schema == 2


def test_old_facts_read_as_today_s_and_are_never_rewritten(
        old_and_new: tuple[Ledger, Ledger]) -> None:
    old, new = old_and_new
    old_facts, new_facts = list(old.log.read()), list(new.log.read())
    assert len(old_facts) == len(new_facts)
    for o, n in zip(old_facts, new_facts, strict=True):
        assert (o.position, o.stream, o.version, o.type) == (n.position, n.stream, n.version, n.type)
        assert codec.decode(o.type, o.schema, o.data) == codec.decode(n.type, n.schema, n.data)
        if o.type == "AssessmentRecorded":
            assert (o.schema, n.schema) == (1, 2) and "result" in o.data
        if o.type == "PriceSet":  # schema 1 did not say what a pack is: read as not recorded
            assert (o.schema, n.schema) == (1, 2) and "pack" not in o.data
            assert codec.decode(o.type, o.schema, o.data).pack is None  # type: ignore[attr-defined]
    assert verify(old.log).ok  # reading upcasts in memory: the stored rows and chain stand
    assert all("result" in f.data for f in old.log.read(types=["AssessmentRecorded"]))


def test_who_pays_is_the_same_on_every_date_as_known_at_every_moment(
        old_and_new: tuple[Ledger, Ledger]) -> None:
    old, new = old_and_new
    head = old.log.head()
    assert head == new.log.head()
    assessments = [f.position for f in old.log.read(types=["AssessmentRecorded",
                                                            "AssessmentCorrected"])]
    positions = sorted({*range(0, head + 1, 9), head, *assessments,
                        *(p - 1 for p in assessments)})
    for at in positions:
        old_cases = {k.patient.patient_id: k for k in old.cases(up_to=at)}
        new_cases = {k.patient.patient_id: k for k in new.cases(up_to=at)}
        assert old_cases.keys() == new_cases.keys()
        for pid in old_cases:
            assert old.timeline(pid, position=at) == new.timeline(pid, position=at), (pid, at)
    for pid, *_ in PATIENTS:
        for on in (date(2023, 5, 1), date(2023, 7, 15), date(2023, 9, 1)):
            assert old.who_pays(pid, on) == new.who_pays(pid, on)
    public = {pid for pid, *_ in PATIENTS
              if old.who_pays(pid, date(2023, 9, 1)).payer.kind.value == "public"}
    assert public == {"IMP-0101", "IMP-0102"}  # "SD" and " pr " read as benefit


def test_the_statements_are_the_same(old_and_new: tuple[Ledger, Ledger]) -> None:
    old, new = old_and_new
    period = Period(date(2023, 1, 1), date(2023, 12, 31))
    everything = Scope.everything()
    old_known, new_known = known_at(old), known_at(new)
    assert old_known.position == new_known.position
    for build in (company_statement, public_cost):
        before = build(old_known, period, everything).to_dict()  # type: ignore[operator]
        after = build(new_known, period, everything).to_dict()  # type: ignore[operator]
        before.pop("known_at"), after.pop("known_at")  # the moments of recording differ
        assert before == after


@pytest.mark.parametrize(("typed", "outcome"), [
    ("CR", Outcome.OBJECTIVE_RESPONSE), ("pr", Outcome.OBJECTIVE_RESPONSE),
    (" Stable  Disease ", Outcome.STABLE_DISEASE), ("PD", Outcome.PROGRESSIVE_DISEASE),
    ("not evaluable", Outcome.NOT_EVALUABLE),
])
def test_the_upcaster_reads_every_recist_response(typed: str, outcome: Outcome) -> None:
    data = {"patient_id": "IMP-0042", "assessed_on": "2023-09-28", "result": typed}
    event = codec.decode("AssessmentRecorded", 1, data)
    assert isinstance(event, AssessmentRecorded) and event.outcome is outcome
    assert data["result"] == typed  # the stored dict is left as it was


def test_text_that_is_no_recist_response_fails_loudly_rather_than_guess() -> None:
    with pytest.raises(ValueError, match="not a RECIST response"):
        codec.decode("AssessmentRecorded", 1, {"patient_id": "IMP-0042",
                                               "assessed_on": "2023-09-28", "result": "better"})


if __name__ == "__main__":
    write_fixture()
    print(f"wrote {FIXTURE}")
