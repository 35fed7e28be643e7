"""An in-memory book of facts for unit tests: the pure core, no store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain import commands as c
from domain.decide import execute, tick
from domain.derive import case_of
from domain.events import Event
from domain.financing import Case, Payer, payer_on
from domain.money import Money
from domain.reference import health_trusts
from domain.values import Decision, Outcome
from domain.workspace import Workspace


def d(text: str) -> date:
    return date.fromisoformat(text)


def nok(amount: int | str) -> Money:
    return Money.of(Decimal(str(amount)), "NOK")


class Book:
    """Facts per stream, in memory. `run` records a command's facts or raises its refusal."""

    def __init__(self, today: date = date(2030, 1, 1)) -> None:
        self.streams: dict[str, list[Event]] = {}
        self.log: list[tuple[str, int, Event]] = []
        self.today = today

    def workspace(self, today: date | None = None, up_to: int | None = None) -> Workspace:
        def load(stream: str) -> list[tuple[int, Event]]:
            facts = [(v, e) for s, v, e in self.log[:up_to] if s == stream]
            return facts

        return Workspace(load, today or self.today)

    def run(self, command: c.Command, today: date | None = None) -> list[Event]:
        ws = self.workspace(today)
        execute(ws, command)
        return self._commit(ws)

    def tick(self, today: date) -> list[Event]:
        out: list[Event] = []
        for stream in sorted({s for s, _, _ in self.log if s.startswith("patient/")}):
            ws = self.workspace(today)
            tick(ws, stream.partition("/")[2])
            out += self._commit(ws)
        return out

    def _commit(self, ws: Workspace) -> list[Event]:
        for p in ws.pending:
            self.log.append((p.stream, p.version, p.event))
        return [p.event for p in ws.pending]

    def case(self, patient_id: str, up_to: int | None = None) -> Case:
        return case_of(self.workspace(up_to=up_to), patient_id)

    def types(self, stream: str) -> list[str]:
        return [e.type for s, _, e in self.log if s == stream]


def with_reference(book: Book, on: date = date(2021, 1, 1)) -> Book:
    for hf in health_trusts():
        book.run(c.RegisterHealthTrust(hf_id=hf.hf_id, name=hf.name, rhf_id=hf.rhf_id,
                                       rhf_name=hf.rhf_name, registered_on=on))
    return book


def with_company_and_drug(book: Book, *, company: str = "nordlys", drug: str = "lynparza",
                          introduced: bool = True, price: Money | None = nok(42000),
                          slots: int = 200, grant: Money = nok(50000), weeks: int = 16) -> Book:
    book.run(c.RegisterCompany(company_id=company, name=f"{company.title()} Pharma AS",
                               registered_on=d("2021-01-01")))
    book.run(c.RegisterDrug(drug_id=drug, brand=drug.title(), generic=drug, company_id=company,
                            registered_on=d("2021-01-01")))
    if price is not None:
        book.run(c.SetPrice(drug_id=drug, price_per_pack=price, effective_from=d("2021-01-01")))
    if introduced:
        book.run(c.RecordIntroductionDecision(drug_id=drug, decision=Decision.INTRODUCED,
                                              case_ref="ID2019_041", indication="ovarian cancer",
                                              decided_on=d("2020-06-01")))
    book.run(c.SignAgreement(agreement_id=f"{company}-impress", company_id=company,
                             signed_on=d("2021-01-01"), grant_per_patient=grant,
                             coverage_weeks=weeks))
    book.run(c.ContributeDrug(agreement_id=f"{company}-impress", drug_id=drug,
                              patient_slots=slots, effective_from=d("2021-01-01")))
    return book


def expansion_book(*, exemption_from: str | None = "2023-03-20", **kw: object) -> Book:
    """A company, its drug with a price, and an expansion cohort opened on partner evidence."""
    book = with_company_and_drug(with_reference(Book()), **kw)  # type: ignore[arg-type]
    book.run(c.OpenCohort(cohort_id="olaparib-brca", drug_id="lynparza",
                          agreement_id="nordlys-impress", indication="solid tumours",
                          molecular_profile="biallelic BRCA1/2 inactivation",
                          opened_on=d("2022-01-10"), evidence_ref="DRUP: first 24 patients"))
    if exemption_from:
        book.run(c.GrantGroupExemption(cohort_id="olaparib-brca", exemption_ref="BF-2022-IMPRESS",
                                       effective_from=d(exemption_from),
                                       decided_on=d(exemption_from)))
    return book


def stage_book(**kw: object) -> Book:
    book = with_company_and_drug(with_reference(Book()), **kw)  # type: ignore[arg-type]
    book.run(c.OpenCohort(cohort_id="lynparza-prostate", drug_id="lynparza",
                          agreement_id="nordlys-impress", indication="prostate cancer",
                          molecular_profile="ATM loss", opened_on=d("2021-03-01")))
    return book


def enrol(book: Book, pid: str, *, cohort: str = "olaparib-brca", hf: str = "helse-stavanger",
          on: str = "2023-06-01", start: str | None = "2023-06-12",
          outcome: Outcome | None = None, assessed: str | None = None) -> None:
    book.run(c.EnrolPatient(patient_id=pid, cohort_id=cohort, hf_id=hf, enrolled_on=d(on)))
    if start:
        book.run(c.StartTreatment(patient_id=pid, started_on=d(start)))
    if outcome is not None:
        book.run(c.RecordAssessment(patient_id=pid, assessed_on=d(assessed or start or on),
                                    outcome=outcome))


# --- added for the rule tests (test_decide_*, test_financing_rules, test_derived_facts) --------
# Only additions below: other suites use the builders above unchanged.


def refused(book: Book, command: c.Command, error: type[Exception],
            today: date | None = None) -> Exception:
    """Run a command that must be refused with exactly `error`, and prove nothing was recorded."""
    before = list(book.log)
    try:
        book.run(command, today=today)
    except Exception as exc:  # noqa: BLE001 - the type is asserted just below
        assert type(exc) is error, f"expected {error.__name__}, got {type(exc).__name__}: {exc}"
        assert book.log == before, "a refused command recorded facts"
        return exc
    raise AssertionError(f"{type(command).__name__} was recorded; expected {error.__name__}")


def payer(book: Book, pid: str, on: str | date, up_to: int | None = None) -> Payer:
    """Who pays for the patient's drug on a date, as known now (or at log position `up_to`)."""
    return payer_on(book.case(pid, up_to=up_to), d(on) if isinstance(on, str) else on)


def held(book: Book, pid: str, kind: type[Event] | None = None) -> list[Event]:
    """The derived facts the ledger holds for a patient (recorded and not retracted)."""
    facts = [f for _, f in book.case(pid).patient.derived]
    return [f for f in facts if kind is None or isinstance(f, kind)]


def held_ref(book: Book, pid: str, kind: type[Event]) -> str:
    """The reference of the one derived fact of a kind the ledger holds for a patient."""
    refs = [r for r, f in book.case(pid).patient.derived if isinstance(f, kind)]
    assert len(refs) == 1, f"expected one held {kind.__name__}, found {len(refs)}"
    return refs[0]


def of_type(facts: list[Event], kind: type[Event]) -> list[Event]:
    return [f for f in facts if isinstance(f, kind)]


def ref_of(book: Book, kind: type[Event], pid: str | None = None) -> str:
    """The reference (stream@version) of the last recorded fact of a kind (for a patient)."""
    for stream, version, event in reversed(book.log):
        if isinstance(event, kind) and (pid is None or getattr(event, "patient_id", None) == pid):
            return f"{stream}@{version}"
    raise AssertionError(f"no {kind.__name__} recorded")


def study_ids(count: int, first: int = 1) -> list[str]:
    return [f"IMP-{n:04d}" for n in range(first, first + count)]


def fill_stage(book: Book, outcomes: list[Outcome | None], *, cohort: str = "lynparza-prostate",
               first: int = 1, on: str = "2021-04-01", start: str = "2021-04-12",
               assessed: str = "2021-08-02", hf: str = "ous") -> list[str]:
    """Enrol one started patient per outcome (None: no assessment recorded yet)."""
    ids = study_ids(len(outcomes), first)
    for pid, outcome in zip(ids, outcomes):
        enrol(book, pid, cohort=cohort, hf=hf, on=on, start=start, outcome=outcome,
              assessed=assessed)
    return ids


def stage_2_book(**kw: object) -> Book:
    """A stage cohort whose first 8 patients (IMP-0001..8; one with stable disease) are assessed
    and which has moved on to stage 2."""
    book = stage_book(**kw)
    fill_stage(book, [Outcome.STABLE_DISEASE] + [Outcome.PROGRESSIVE_DISEASE] * 7)
    book.run(c.AdvanceStage(cohort_id="lynparza-prostate", to_stage=2, decided_on=d("2021-09-01")))
    return book


def recorded_unchecked(book: Book, stream: str, event: Event) -> str:
    """Append a fact as a history recorded before today's rules would hold it (ADR 0014 made
    some facts refusable that older logs contain); returns its reference."""
    version = sum(1 for s, _, _ in book.log if s == stream) + 1
    book.log.append((stream, version, event))
    return f"{stream}@{version}"
