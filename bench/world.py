"""The simulated world behind the benchmark histories: companies, agreements, cohorts, patients.

It decides nothing through the ledger: it keeps just enough of its own state (cohort stages and
room, each patient's dates and outcome) to emit only commands the ledger accepts, so a history
can be generated once and replayed through any ingest path. Every draw comes from one seeded
`Random`, and every collection is iterated in insertion order: the same seed gives the same
history, byte for byte.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from bench import lives
from domain import commands as c
from domain.money import Money
from domain.reference import company_id, health_trusts, reference_drugs
from domain.values import LEDGER, Actor, Decision, Outcome

TRIAL = Actor(subject="trial-office:ingrid", role="trial_office", organisation="impress")
PROCUREMENT = Actor(subject="lis:kari", role="procurement", organisation="sykehusinnkjop")
FORUM = Actor(subject="beslutningsforum:sekretariat", role="decision_forum",
              organisation="nye-metoder")

START = date(2019, 1, 7)
AGREEMENT_PERIOD = 730  # days: each company signs a new framework agreement every two years
TICK_EVERY = 91  # days: the ledger's quarterly run of `tick`
PROFILES = (
    "nsclc-braf-v600e", "nsclc-met-ex14", "nsclc-ret-fusion", "nsclc-alk", "nsclc-her2",
    "colorectal-braf", "colorectal-her2", "ovarian-brca", "prostate-brca", "pancreas-brca",
    "breast-pik3ca", "breast-her2-low", "biliary-fgfr2", "biliary-idh1", "thyroid-ret",
    "melanoma-nras", "sarcoma-ntrk", "glioma-braf", "gastric-her2", "endometrial-msi",
    "bladder-fgfr3", "head-neck-pik3ca", "cup-tmb-high", "mesothelioma-bap1",
)


@dataclass(frozen=True)
class Step:
    """One thing done to the ledger: a command by an actor on a day (the ledger's `today`).
    A `Tick` command stands for the ledger's own run of `tick(today)`."""

    today: date
    actor: Actor
    command: c.Command


@dataclass
class Cohort:
    cohort_id: str
    drug_id: str
    agreement_id: str
    opened_on: date
    stage: int
    size: int = 0  # the expansion size
    counts: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0, 3: 0})
    pending: set[str] = field(default_factory=set)  # stage patients not yet resolved
    benefit: int = 0
    waiting: bool = False  # a stage is full: wait for its 16-week assessments
    closed: bool = False

    def room(self) -> bool:
        if self.closed or self.waiting:
            return False
        if self.stage == 3:
            return self.counts[3] < self.size
        return sum(n for s, n in self.counts.items() if s <= self.stage) < (8, 24)[self.stage - 1]


@dataclass
class Patient:
    pid: str
    cohort: Cohort
    stage: int
    hf: str  # treating now
    first_hf: str
    enrolled_on: date
    started_on: date | None = None
    outcome: Outcome | None = None
    ended: bool = False
    grant: Money | None = None
    last_seen: date = date.min  # the latest fact dated on treatment: an end is not before it


class World:
    def __init__(self, patients: int, days: int, seed: int, follow_up: int = 0) -> None:
        self.target, self.rng = patients, Random(seed)
        self.follow_up = follow_up
        self.rate = patients / days
        self.today = START
        self.enrolled = 0
        self.out: list[Step] = []
        self.agenda: list[tuple[date, int, Callable[[], None]]] = []
        self.seq = 0
        self.hfs = [hf.hf_id for hf in health_trusts()]
        drugs = [d for d in reference_drugs() if d.company]
        self.drugs = {d.drug_id: company_id(d.company or "") for d in drugs}
        self.reference = {d.drug_id: d for d in drugs}
        self.companies = list(dict.fromkeys(self.drugs.values()))
        self.agreements: dict[str, str] = {}  # company -> agreement of the current period
        self.grants: dict[str, Money] = {}  # agreement -> grant per patient now
        self.grant_terms: dict[str, list[tuple[date, Money]]] = {}  # agreement -> (from, grant)
        self.cohorts: dict[str, list[Cohort]] = {d: [] for d in self.drugs}
        self.serial = 0
        self.rejected: dict[str, date] = {}  # drug -> date of a "no" from Beslutningsforum

    # --- the run --------------------------------------------------------------------------

    def steps(self) -> Iterator[Step]:
        """Day by day until the last patient is enrolled, then `follow_up` days more (the
        ledger's "now" comes a while after the last enrolment, not on its day)."""
        self.setup()
        last = None
        while last is None or self.today <= last:
            self.day()
            yield from self.out
            self.out = []
            if last is None and self.enrolled >= self.target:
                last = self.today + timedelta(days=self.follow_up)
            self.today += timedelta(days=1)

    def day(self) -> None:
        while self.agenda and self.agenda[0][0] <= self.today:
            heapq.heappop(self.agenda)[2]()
        if (self.today - START).days % AGREEMENT_PERIOD == 0 and self.today > START:
            self.sign_agreements()
        arrivals = self.rng.randint(0, max(1, round(2 * self.rate)))
        for _ in range(min(arrivals, self.target - self.enrolled)):
            self.enrol()
        if (self.today - START).days % TICK_EVERY == TICK_EVERY - 1:
            self.emit(c.Tick(today=self.today), LEDGER)

    def emit(self, command: c.Command, actor: Actor = TRIAL) -> None:
        self.out.append(Step(self.today, actor, command))

    def at(self, days: int, action: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.agenda, (self.today + timedelta(days=days), self.seq, action))

    def draw(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    # --- parties, prices, agreements --------------------------------------------------------

    def setup(self) -> None:
        for name in dict.fromkeys(self.reference[d].company or "" for d in self.drugs):
            self.emit(c.RegisterCompany(company_id=company_id(name), name=name,
                                        registered_on=START), PROCUREMENT)
        for n, (drug, company) in enumerate(self.drugs.items()):
            ref = self.reference[drug]
            self.emit(c.RegisterDrug(drug_id=drug, brand=ref.brand, generic=ref.generic,
                                     company_id=company, registered_on=START), PROCUREMENT)
            self.price(drug, START)
            self.emit(c.RecordIntroductionDecision(
                drug_id=drug, decision=Decision.INTRODUCED, case_ref=f"ID2018_{n + 1:03d}",
                indication="an approved indication", decided_on=START), FORUM)
        self.sign_agreements()
        for year in range(START.year + 1, START.year + 30):
            self.at((date(year, 1, 1) - START).days - self.draw(5, 20), self.new_prices)
        rejected = list(self.drugs)[-1]
        self.at(900, lambda: self.reject(rejected))
        self.at(1000, self.amend_agreements)

    def price(self, drug: str, on: date) -> None:
        amount = Money.of(self.draw(40, 900) * 100, "NOK")
        self.emit(c.SetPrice(drug_id=drug, price_per_pack=amount, effective_from=on),
                  PROCUREMENT)

    def new_prices(self) -> None:
        for drug in self.drugs:
            self.price(drug, date(self.today.year + 1, 1, 1))

    def reject(self, drug: str) -> None:
        self.rejected[drug] = self.today
        self.emit(c.RecordIntroductionDecision(
            drug_id=drug, decision=Decision.REJECTED, case_ref="ID2021_901",
            indication="a further indication", decided_on=self.today), FORUM)

    def sign_agreements(self) -> None:
        for n, company in enumerate(self.companies):
            agreement = f"{company}-{self.today.year}"
            grant = Money.of(5000 if n == 3 else 50000, "EUR" if n == 3 else "NOK")
            self.emit(c.SignAgreement(agreement_id=agreement, company_id=company,
                                      signed_on=self.today, grant_per_patient=grant),
                      PROCUREMENT)
            for drug in (d for d, owner in self.drugs.items() if owner == company):
                self.emit(c.ContributeDrug(agreement_id=agreement, drug_id=drug,
                                           patient_slots=self.target, effective_from=self.today),
                          PROCUREMENT)
            self.agreements[company], self.grants[agreement] = agreement, grant
            self.grant_terms[agreement] = [(self.today, grant)]

    def amend_agreements(self) -> None:
        first, second = (self.agreements[x] for x in self.companies[:2])
        self.emit(c.AmendAgreement(agreement_id=first, effective_from=self.today,
                                   reason="renegotiated: 12 weeks of company coverage",
                                   coverage_weeks=12), PROCUREMENT)
        grant = Money.of(60000, self.grants[second].currency)
        self.emit(c.AmendAgreement(agreement_id=second, effective_from=self.today,
                                   reason="grant raised from 2022", grant_per_patient=grant),
                  PROCUREMENT)
        self.grants[second] = grant
        self.grant_terms[second].append((self.today, grant))

    def grant_on(self, agreement: str, on: date) -> Money:
        """The grant in force on a date (the first term before the first date, as the ledger)."""
        terms = self.grant_terms[agreement]
        return next((g for since, g in reversed(terms) if since <= on), terms[0][1])

    # --- cohorts --------------------------------------------------------------------------

    def cohort_for(self, drug: str) -> Cohort:
        open_ = [x for x in self.cohorts[drug] if x.room()]
        expanding = [x for x in open_ if x.stage == 3]
        if expanding and (self.rng.random() < 0.8 or len(open_) == len(expanding)):
            return self.rng.choice(expanding)
        if open_:
            return self.rng.choice(open_)
        return self.open_cohort(drug)

    def open_cohort(self, drug: str) -> Cohort:
        self.serial += 1
        profile = self.rng.choice(PROFILES)
        cohort_id = f"{drug}-{profile}-{self.serial}"
        agreement = self.agreements[self.drugs[drug]]
        partner = drug not in self.rejected and self.rng.random() < 0.05
        size = self.draw(60, 150)
        self.emit(c.OpenCohort(
            cohort_id=cohort_id, drug_id=drug, agreement_id=agreement,
            indication=profile.split("-")[0], molecular_profile=profile, opened_on=self.today,
            evidence_ref="DRUP: first 24 patients treated" if partner else None,
            expansion_size=size if partner else None))
        cohort = Cohort(cohort_id, drug, agreement, self.today, 3 if partner else 1, size)
        if partner:
            self.expanded(cohort)
        self.cohorts[drug].append(cohort)
        return cohort

    def resolve(self, patient: Patient, benefit: bool) -> None:
        """A stage patient's 16-week answer is known (or the patient ended without one)."""
        cohort = patient.cohort
        if patient.pid not in cohort.pending:
            return
        cohort.pending.discard(patient.pid)
        cohort.benefit += benefit
        if cohort.waiting and not cohort.pending:
            self.decide_stage(cohort)

    def decide_stage(self, cohort: Cohort) -> None:
        cohort.waiting = False
        if cohort.stage == 1 and cohort.benefit >= 1:
            self.emit(c.AdvanceStage(cohort_id=cohort.cohort_id, to_stage=2,
                                     decided_on=self.today))
            cohort.stage = 2
        elif cohort.stage == 2 and cohort.benefit >= 5 and cohort.drug_id not in self.rejected:
            self.emit(c.AdvanceStage(cohort_id=cohort.cohort_id, to_stage=3,
                                     decided_on=self.today, expansion_size=cohort.size))
            cohort.stage = 3
            self.expanded(cohort)
        else:
            self.emit(c.CloseCohort(cohort_id=cohort.cohort_id, closed_on=self.today,
                                    reason="the stage rule was not met"))
            cohort.closed = True

    def expanded(self, cohort: Cohort) -> None:
        """Beslutningsforum's group exemption comes late, retroactively; some are revoked
        later, and some cohorts get permanent financing."""
        if self.rng.random() < 0.85:
            decided = self.draw(10, 60)
            def grant(cohort_id: str = cohort.cohort_id, on: date = self.today) -> None:
                self.emit(c.GrantGroupExemption(
                    cohort_id=cohort_id, exemption_ref=f"BF-{cohort_id}"[:100],
                    effective_from=on + timedelta(days=decided),
                    decided_on=on + timedelta(days=decided)), FORUM)
            self.at(decided + self.draw(5, 90), grant)
            if self.rng.random() < 0.05:
                self.at(decided + self.draw(365, 700), lambda: self.emit(c.RevokeGroupExemption(
                    cohort_id=cohort.cohort_id, exemption_ref=f"BF-{cohort.cohort_id}"[:100],
                    effective_from=self.today, reason="revoked by Beslutningsforum"), FORUM))
        if self.rng.random() < 0.15:
            case = f"ID{START.year + 3}_{self.serial % 1000:03d}"
            self.at(self.draw(500, 900), lambda: self.emit(c.DecidePermanentFinancing(
                cohort_id=cohort.cohort_id, decision=Decision.INTRODUCED, case_ref=case,
                effective_from=self.today), FORUM))

    # --- one patient's life -----------------------------------------------------------------

    def enrol(self) -> None:
        self.enrolled += 1
        drug = self.rng.choice(list(self.drugs))
        cohort = self.cohort_for(drug)
        hf = self.rng.choice(self.hfs)
        p = Patient(f"IMP-{self.enrolled:06d}", cohort, cohort.stage, hf, hf, self.today)
        self.emit(c.EnrolPatient(patient_id=p.pid, cohort_id=cohort.cohort_id, hf_id=hf,
                                 enrolled_on=self.today))
        cohort.counts[cohort.stage] += 1
        if cohort.stage < 3:
            cohort.pending.add(p.pid)
            cohort.waiting = cohort.counts[1] + cohort.counts[2] >= (8, 24)[cohort.stage - 1]
        if self.rng.random() < 0.02:
            self.at(self.draw(3, 10), lambda: self.correct_hf(p))
        self.at(self.draw(0, 14), lambda: self.start(p))

    def correct_hf(self, p: Patient) -> None:
        other = self.rng.choice([h for h in self.hfs if h != p.first_hf])
        self.emit(c.CorrectEnrolmentHf(patient_id=p.pid, hf_id=other,
                                       reason="enrolled at another trust than first recorded"))
        if p.hf == p.first_hf:
            p.hf = other
        p.first_hf = other

    def start(self, p: Patient) -> None:
        lives.start(self, p)
