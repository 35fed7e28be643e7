"""Statements: what the drug cost and who bore it, for a period, as the ledger knew it at a log
position, showing only what the caller may see.

Every statement is a pure function of `Known` (the facts up to one log position: every
patient's `Case`, and the drug, agreement and registry streams), a `Period` (inclusive dates)
and a `Scope`. Who pays on a date always comes from `domain.financing` (payer_on / timeline);
a dispensation is priced at the price in force on its dispensing date (report 4.3: "if the
price of a drug changes, it changes for IMPRESS patients too"). Money is summed per currency
(`domain.money.Totals`), never across currencies.

The statements themselves live in `statements_company` (company obligations),
`statements_public` (public cost) and `statements_restate` (restatement); the financing-gap
worklist and upcoming coverage ends in `reports.worklist`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from domain import errors as err
from domain.derive import case_of
from domain.financing import Case, Interval, Payer, payer_on
from domain.money import Money, Totals
from domain.state import Agreement, Dated, Drug
from domain.workspace import Workspace

if TYPE_CHECKING:
    from application.ledger import Ledger

DAY = timedelta(days=1)


# --- periods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    def __contains__(self, on: object) -> bool:
        return isinstance(on, date) and self.start <= on <= self.end

    def clip(self, start: date, end: date | None) -> tuple[date, date] | None:
        """The part of [start, end] (end None: open) inside the period, if any."""
        return overlap((start, end), (self.start, self.end))

    def to_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start} to {self.end}"


def overlap(a: tuple[date, date | None], b: tuple[date, date | None]) -> tuple[date, date] | None:
    """The overlap of two inclusive spans (None as an end: open); None if they do not meet.
    At least one of the two must have an end."""
    start = max(a[0], b[0])
    ends = [e for e in (a[1], b[1]) if e is not None]
    end = min(ends)
    return (start, end) if start <= end else None


def days_in(span: tuple[date, date]) -> int:
    return (span[1] - span[0]).days + 1


def merge(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Join spans that touch or overlap (a transfer splits a payer's interval in two)."""
    out: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if out and (start - out[-1][1]).days <= 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


# --- what a caller may see -----------------------------------------------------------------


class ScopeKind(StrEnum):
    EVERYTHING = "everything"  # auditor, hospital procurement
    COMPANY = "company"  # a pharma partner: its own agreements and patients
    RHF = "rhf"  # an RHF finance officer: patients treated in the region, on those dates


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind = ScopeKind.EVERYTHING
    party: str | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def company(cls, company_id: str) -> Scope:
        return cls(ScopeKind.COMPANY, company_id)

    @classmethod
    def rhf(cls, rhf_id: str) -> Scope:
        return cls(ScopeKind.RHF, rhf_id)

    def sees_company(self, company_id: str) -> bool:
        return self.kind is not ScopeKind.COMPANY or company_id == self.party

    def sees_case(self, case: Case) -> bool:
        """Whether any of the patient's facts is visible at all."""
        if self.kind is ScopeKind.COMPANY:
            return case.agreement.company_id == self.party
        if self.kind is ScopeKind.RHF:
            return any(case.rhf_of(p.value) == self.party for p in case.patient.hf_periods)
        return True

    def sees_on(self, case: Case, on: date) -> bool:
        """Whether the patient's facts about one date are visible (an RHF sees the dates on
        which one of its health trusts treated the patient)."""
        if self.kind is ScopeKind.RHF:
            return case.rhf_of(case.patient.hf_on(on).value) == self.party
        return self.sees_case(case)

    def spans(self, case: Case, span: tuple[date, date]) -> list[tuple[date, date]]:
        """The parts of a span the scope sees."""
        if self.kind is not ScopeKind.RHF:
            return [span] if self.sees_case(case) else []
        out = []
        for start, end, hf_id in hf_spans(case):
            if case.rhf_of(hf_id) == self.party and (part := overlap(span, (start, end))):
                out.append(part)
        return out

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind.value, "party": self.party}

    def __str__(self) -> str:
        return self.kind.value if self.party is None else f"{self.kind.value} {self.party}"


def hf_spans(case: Case) -> Iterator[tuple[date, date | None, str]]:
    """(from, to, hf_id) for each health trust that treated the patient; the first one also
    covers the dates before enrolment, as `Patient.hf_on` does."""
    periods = case.patient.hf_periods
    for i, period in enumerate(periods):
        start = date.min if i == 0 else period.since
        end = periods[i + 1].since - DAY if i + 1 < len(periods) else None
        yield start, end, period.value


# --- the facts as known at one position ---------------------------------------------------


@dataclass(frozen=True)
class Known:
    """Everything a statement reads, as known at one log position."""

    position: int
    cases: tuple[Case, ...]
    workspace: Workspace
    agreement_ids: tuple[str, ...]
    recorded_at: datetime | None = None  # when the fact at `position` was recorded

    @classmethod
    def from_workspace(
        cls,
        ws: Workspace,
        patient_ids: Iterable[str],
        agreement_ids: Iterable[str],
        position: int,
        recorded_at: datetime | None = None,
    ) -> Known:
        cases = tuple(case_of(ws, p) for p in patient_ids if ws.patient(p).exists)
        agreements = tuple(a for a in agreement_ids if ws.agreement(a).exists)
        return cls(position, cases, ws, agreements, recorded_at)

    def drug(self, drug_id: str) -> Drug:
        return self.workspace.drug(drug_id)

    def price_on(self, drug_id: str, on: date) -> Dated[Money] | None:
        return self.drug(drug_id).price_on(on)

    def agreement(self, agreement_id: str) -> Agreement:
        return self.workspace.agreement(agreement_id)

    def rhf_ids(self) -> set[str]:
        return {t.rhf_id for t in self.workspace.registry().trusts.values()}

    def check(self, scope: Scope) -> Scope:
        """Refuse a scope naming a company or RHF the ledger does not know."""
        if scope.kind is ScopeKind.COMPANY and not self.workspace.company(scope.party or "").exists:
            raise err.UnknownCompany(scope.party or "")
        if scope.kind is ScopeKind.RHF and scope.party not in self.rhf_ids():
            raise err.NotFound("regional health authority", scope.party or "")
        return scope

    def about(self) -> dict[str, Any]:
        moment = self.recorded_at.isoformat() if self.recorded_at else None
        return {"position": self.position, "recorded_at": moment}


def known_at(ledger: Ledger, position: int | None = None) -> Known:
    """The facts as known at a log position (default: everything recorded so far)."""
    at = ledger.position(position=position)
    cases = tuple(ledger.cases(up_to=at))
    ws = ledger.workspace(up_to=at)
    agreements = [s.partition("/")[2] for s in ledger.log.streams("agreement/")]
    return Known(
        position=at,
        cases=cases,
        workspace=ws,
        agreement_ids=tuple(a for a in agreements if ws.agreement(a).exists),
        recorded_at=recorded_at(ledger, at),
    )


def recorded_at(ledger: Ledger, position: int) -> datetime | None:
    if position <= 0:
        return None
    fact = next(iter(ledger.log.read(after=position - 1, up_to=position, batch=1)), None)
    return fact.recorded_at if fact else None


# --- dispensations, priced ------------------------------------------------------------------


@dataclass(frozen=True)
class Priced:
    """One dispensation (as corrected), who paid on its date, and its price in force then."""

    patient_id: str
    ref: str  # the DrugDispensed fact
    last_ref: str  # the fact in force: the dispensation or its latest correction
    drug_id: str
    on: date
    packs: int
    payer: Payer
    price: Dated[Money] | None
    pack: str | None = None  # what one pack is at that price ("150 mg x 56"), if recorded

    @property
    def value(self) -> Money | None:
        return self.price.value * self.packs if self.price else None


def priced(known: Known, case: Case, period: Period, scope: Scope) -> list[Priced]:
    """The patient's dispensations in the period the scope sees; voided ones (0 packs) left out."""
    out = []
    for d in case.patient.dispensations:
        if d.packs <= 0 or d.dispensed_on not in period or not scope.sees_on(case, d.dispensed_on):
            continue
        payer = payer_on(case, d.dispensed_on)
        price = known.price_on(d.drug_id, d.dispensed_on)
        out.append(Priced(case.patient.patient_id, d.ref, d.last_ref, d.drug_id, d.dispensed_on,
                          d.packs, payer, price, known.drug(d.drug_id).pack_of(price)))
    return out


def value_of(items: Iterable[Priced]) -> Totals:
    return Totals(v for v in (p.value for p in items) if v is not None)


def per_currency(items: Sequence[Priced]) -> list[tuple[int, Decimal | None, str | None]]:
    """(packs, value, currency) per currency; unpriced packs apart; one empty row if none."""
    groups: dict[str | None, list[Priced]] = {}
    for d in items:
        groups.setdefault(d.value.currency if d.value else None, []).append(d)
    if not groups:
        return [(0, None, None)]
    out = []
    for currency in sorted(groups, key=lambda c: c or "~"):
        packs = sum(d.packs for d in groups[currency])
        value = sum((d.value.amount for d in groups[currency] if d.value), Decimal("0.00"))
        out.append((packs, value if currency else None, currency))
    return out


def visible_intervals(case: Case, intervals: Sequence[Interval], period: Period,
                      scope: Scope) -> Iterator[tuple[Interval, tuple[date, date]]]:
    """Each payer interval's parts inside the period that the scope sees."""
    for interval in intervals:
        clipped = period.clip(interval.start, interval.end)
        if clipped is None:
            continue
        for part in scope.spans(case, clipped):
            yield interval, part
