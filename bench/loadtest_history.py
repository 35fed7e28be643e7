"""A deterministic generator of big, realistic ledger histories (for `bench.loadtest`).

It simulates day by day: patients are enrolled in expansion and stage cohorts, start,
are dispensed to every four weeks, are sometimes transferred, are assessed at 16 weeks
(some of it recorded weeks late), end treatment, and have some of their facts corrected;
stage patients' grants are invoiced and paid; group exemptions are granted (late,
retroactively) and revoked, permanent financing decided, an agreement's coverage amended.
Every command goes through `domain.decide.execute` against states held in memory, and the
facts are appended to the EventLog in batches, with a live projector following.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import date, timedelta
from random import Random
from typing import Any

from domain import codec
from domain import commands as c
from domain import decide
from domain import state as st
from domain.application import Ledger
from domain.errors import Refused
from domain.money import Money
from domain.persistence import NewEvent
from domain.reference import health_trusts
from domain.values import Actor, Decision, EndReason, Outcome
from domain.workspace import Workspace
from projections.projector import Projector
from projections.store import Database

START = date(2022, 1, 3)
ACTOR = Actor(subject="loadtest", role="trial_office", organisation="impress-loadtest")
COMPANIES = 4
DRUGS_PER_COMPANY = 2
NOK = "NOK"


def _held_workspace(held: dict[str, Any], today: date) -> Workspace:
    """A workspace that starts from states already folded in memory (a load generator
    cannot afford to refold a cohort's long stream for every enrolment)."""
    return Workspace(lambda stream: (), today,
                     stored=lambda stream: held.get(stream) or st.empty(stream))


class World:
    def __init__(self, ledger: Ledger, seed: int, follow: Callable[[], None]) -> None:
        self.ledger, self.rng, self.follow = ledger, Random(seed), follow
        self.states: dict[str, Any] = {}
        self.batch: list[NewEvent] = []
        self.today = START
        self.appended = self.refused = self.patients = 0
        self.agenda: list[tuple[date, int, Callable[[], None]]] = []
        self.seq = 0
        self.hfs = [hf.hf_id for hf in health_trusts()]
        self.drugs = [f"drug-{i}" for i in range(COMPANIES * DRUGS_PER_COMPANY)]
        self.stage_cohort: dict[str, tuple[str, int]] = {}  # drug -> (cohort, serial)

    # --- recording --------------------------------------------------------------------------

    def run(self, command: c.Command) -> bool:
        ws = _held_workspace(self.states, self.today)
        try:
            decide.execute(ws, command)
        except Refused:
            self.refused += 1
            return False
        self._take(ws, ACTOR)
        return True

    def tick(self, patient_id: str) -> None:
        ws = _held_workspace(self.states, self.today)
        decide.tick(ws, patient_id)
        self._take(ws, Actor(subject="impress-ledger", role="system",
                             organisation="impress-ledger"))

    def _take(self, ws: Workspace, actor: Actor) -> None:
        for p in ws.pending:
            self.states[p.stream] = ws.get(p.stream)
            self.batch.append(NewEvent(stream=p.stream, version=p.version, type=p.event.type,
                                       schema=p.event.schema, data=codec.encode(p.event),
                                       valid_on=p.event.valid_on, actor=actor.to_dict()))

    def flush(self) -> None:
        if self.batch:
            self.ledger.log.append(self.batch)
            self.appended += len(self.batch)
            self.batch = []
            self.follow()

    @property
    def events(self) -> int:
        return self.appended + len(self.batch)

    def at(self, day: date, action: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.agenda, (day, self.seq, action))

    def later(self, lo: int, hi: int) -> date:
        return self.today + timedelta(days=self.rng.randint(lo, hi))

    # --- the world --------------------------------------------------------------------------

    def setup(self) -> None:
        for hf in health_trusts():
            self.run(c.RegisterHealthTrust(hf_id=hf.hf_id, name=hf.name, rhf_id=hf.rhf_id,
                                           rhf_name=hf.rhf_name, registered_on=START))
        for n in range(COMPANIES):
            company, agreement = f"company-{n}", f"agreement-{n}"
            self.run(c.RegisterCompany(company_id=company, name=f"Company {n} AS",
                                       registered_on=START))
            self.run(c.SignAgreement(agreement_id=agreement, company_id=company, signed_on=START,
                                     grant_per_patient=Money.of(50000, NOK), coverage_weeks=16))
            for k in range(DRUGS_PER_COMPANY):
                self._drug(f"drug-{n * DRUGS_PER_COMPANY + k}", company, agreement)
        self._financing_decisions()

    def _drug(self, drug: str, company: str, agreement: str) -> None:
        self.run(c.RegisterDrug(drug_id=drug, brand=drug.title(), generic=drug,
                                company_id=company, registered_on=START))
        self.run(c.SetPrice(drug_id=drug, price_per_pack=Money.of(42000, NOK),
                            effective_from=START))
        self.run(c.RecordIntroductionDecision(
            drug_id=drug, decision=Decision.INTRODUCED, case_ref=f"ID2020_{drug[-1]:0>3}",
            indication="an approved indication", decided_on=START))
        self.run(c.ContributeDrug(agreement_id=agreement, drug_id=drug, patient_slots=1_000_000,
                                  effective_from=START))
        self.run(c.OpenCohort(cohort_id=f"{drug}-x", drug_id=drug, agreement_id=agreement,
                              indication="solid tumours", molecular_profile="a profile",
                              opened_on=START, evidence_ref="partner trial: first 24 patients",
                              expansion_size=1_000_000))

    def _financing_decisions(self) -> None:
        day = lambda n: START + timedelta(days=n)  # noqa: E731
        for i, drug in enumerate(self.drugs):  # granted late: retroactive to day 120 or 600
            effective = day(120) if i < 6 else day(600)
            self.at(day(150) if i < 6 else day(700), lambda d=drug, e=effective: self.run(
                c.GrantGroupExemption(cohort_id=f"{d}-x", exemption_ref=f"BF-{d}",
                                      effective_from=e, decided_on=e)))
        self.at(day(400), lambda: self.run(c.RevokeGroupExemption(
            cohort_id="drug-1-x", exemption_ref="BF-drug-1", effective_from=day(420),
            reason="revoked by Beslutningsforum")))
        self.at(day(500), lambda: self.run(c.AmendAgreement(
            agreement_id="agreement-0", effective_from=day(480), reason="renegotiated",
            coverage_weeks=12)))
        self.at(day(600), lambda: self.run(c.DecidePermanentFinancing(
            cohort_id="drug-1-x", decision=Decision.INTRODUCED, case_ref="ID2024_001",
            effective_from=day(650))))

    def day(self) -> None:
        for _ in range(self.rng.randint(4, 14)):
            self.enrol()
        while self.agenda and self.agenda[0][0] <= self.today:
            heapq.heappop(self.agenda)[2]()
        self.today += timedelta(days=1)

    # --- one patient's life -----------------------------------------------------------------

    def enrol(self) -> None:
        self.patients += 1
        pid, drug, hf = f"IMP-{self.patients:06d}", self.rng.choice(self.drugs), \
            self.rng.choice(self.hfs)
        cohort = f"{drug}-x" if self.rng.random() < 0.75 else self._stage_cohort(drug)
        enrol = c.EnrolPatient(patient_id=pid, cohort_id=cohort, hf_id=hf, enrolled_on=self.today)
        if not self.run(enrol) and cohort != f"{drug}-x":
            cohort = self._stage_cohort(drug, full=True)
            if not self.run(c.EnrolPatient(patient_id=pid, cohort_id=cohort, hf_id=hf,
                                           enrolled_on=self.today)):
                return
        if self.rng.random() < 0.02:
            self.at(self.later(3, 10), lambda: self.run(c.CorrectEnrolmentHf(
                patient_id=pid, hf_id=self.rng.choice([h for h in self.hfs if h != hf]),
                reason="enrolled at another trust than first recorded")))
        self.at(self.later(0, 14), lambda: self.start(pid, stage=cohort != f"{drug}-x"))

    def _stage_cohort(self, drug: str, *, full: bool = False) -> str:
        cohort, serial = self.stage_cohort.get(drug, ("", 0))
        if cohort and full and self.run(c.AdvanceStage(cohort_id=cohort, to_stage=2,
                                                        decided_on=self.today)):
            return cohort
        if not cohort or full:
            serial += 1
            cohort = f"{drug}-s{serial}"
            n = self.drugs.index(drug) // DRUGS_PER_COMPANY
            self.run(c.OpenCohort(cohort_id=cohort, drug_id=drug, agreement_id=f"agreement-{n}",
                                  indication="a tumour type", molecular_profile="a profile",
                                  opened_on=self.today))
            self.stage_cohort[drug] = (cohort, serial)
        return cohort

    def start(self, pid: str, *, stage: bool) -> None:
        if not self.run(c.StartTreatment(patient_id=pid, started_on=self.today)):
            return
        start = self.today
        if self.rng.random() < 0.04:
            self.at(self.later(5, 20), lambda: self.run(c.CorrectTreatmentStart(
                patient_id=pid, started_on=start + timedelta(days=self.rng.randint(0, 5)),
                reason="the start was recorded wrong")))
        self.at(self.later(28, 28), lambda: self.dispense(pid))
        self.at(start + timedelta(days=112), lambda: self.tick(pid))
        assessed = start + timedelta(days=self.rng.randint(105, 115))
        late = self.rng.randint(30, 90) if self.rng.random() < 0.2 else self.rng.randint(0, 14)
        self.at(assessed + timedelta(days=late), lambda: self.assess(pid, assessed))
        if self.rng.random() < 0.1:
            self.at(self.later(30, 200), lambda: self.run(c.TransferPatient(
                patient_id=pid, to_hf=self.rng.choice(self.hfs), effective_from=self.today)))
        if stage:
            self.at(self.later(30, 45), lambda: self.run(c.InvoiceGrant(
                patient_id=pid, invoice_ref=f"INV-{pid}", invoiced_on=self.today)))
            self.at(self.later(60, 90), lambda: self.run(c.RecordGrantPayment(
                patient_id=pid, payment_ref=f"PAY-{pid}", amount=Money.of(50000, NOK),
                paid_on=self.today)))

    def dispense(self, pid: str) -> None:
        p = self.states.get(f"patient/{pid}")
        if p is None or p.ended is not None:
            return
        if self.run(c.DispenseDrug(patient_id=pid, packs=self.rng.randint(1, 3),
                                   dispensed_on=self.today)) and self.rng.random() < 0.03:
            ref = self.states[f"patient/{pid}"].dispensations[-1].ref
            self.at(self.later(5, 30), lambda: self.run(c.CorrectDispensation(
                patient_id=pid, dispensation=ref, packs=self.rng.randint(0, 3),
                dispensed_on=self.today - timedelta(days=5), reason="miscounted")))
        self.at(self.later(28, 28), lambda: self.dispense(pid))

    def assess(self, pid: str, assessed: date) -> None:
        roll = self.rng.random()
        outcome = (Outcome.OBJECTIVE_RESPONSE if roll < 0.15 else Outcome.STABLE_DISEASE
                   if roll < 0.65 else Outcome.PROGRESSIVE_DISEASE if roll < 0.95
                   else Outcome.NOT_EVALUABLE)
        if not self.run(c.RecordAssessment(patient_id=pid, assessed_on=assessed,
                                           outcome=outcome)):
            return
        if self.rng.random() < 0.06:
            flipped = (Outcome.PROGRESSIVE_DISEASE if outcome.is_benefit
                       else Outcome.STABLE_DISEASE)
            self.at(self.later(10, 60), lambda: self.run(c.CorrectAssessment(
                patient_id=pid, assessed_on=assessed, outcome=flipped,
                reason="the scan was re-read")))
        end = self.later(0, 14) if not outcome.is_benefit else self.later(90, 600)
        self.at(end, lambda: self.end(pid))

    def end(self, pid: str) -> None:
        ended = self.today - timedelta(days=self.rng.randint(0, 30) if self.rng.random() < 0.1
                                       else 0)
        reason = self.rng.choice([EndReason.PROGRESSION, EndReason.PROGRESSION,
                                  EndReason.TOXICITY, EndReason.COMPLETED])
        if self.run(c.EndTreatment(patient_id=pid, ended_on=ended, reason=reason)) \
                and self.rng.random() < 0.03:
            self.at(self.later(10, 30), lambda: self.run(c.CorrectTreatmentEnd(
                patient_id=pid, ended_on=ended + timedelta(days=7),
                ended_reason=EndReason.PROGRESSION, reason="the end date was wrong")))


def generate(url: str, events: int, *, seed: int = 1, batch: int = 1000,
             follow_every: int = 1, fresh_projector_every: int = 20) -> dict[str, Any]:
    """Append a history of at least `events` facts to an empty log at `url`, with the live
    who-pays tables following (a fresh projector now and then, as a restarted process)."""
    ledger = Ledger.open(url)
    db = Database(url)
    try:
        if ledger.log.head():
            raise ValueError(f"the log at {url} is not empty")
        projectors = [Projector(ledger.log, db)]
        projectors[0].create_tables()
        flushes = [0]

        def follow() -> None:
            flushes[0] += 1
            if flushes[0] % fresh_projector_every == 0:
                projectors[0] = Projector(ledger.log, db)
            if flushes[0] % follow_every == 0:
                projectors[0].catch_up()

        world = World(ledger, seed, follow)
        world.setup()
        while world.events < events:
            world.day()
            if len(world.batch) >= batch:
                world.flush()
        world.flush()
        projectors[0].catch_up()
        return {"events": world.appended, "patients": world.patients,
                "refused_commands": world.refused, "simulated_days": (world.today - START).days}
    finally:
        db.close()
        ledger.close()
