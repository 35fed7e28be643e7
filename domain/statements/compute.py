"""The rows each read model holds for one patient, agreement or party: pure functions of the
folded states, shared by the projector (which compares them with what its tables hold) and by
the replay a statement can be built from instead (domain.statements.source.Known).

Who pays on each date comes from `domain.financing`, a dispensation's cost from
`domain.costing`, a tick's due date from `domain.derive.next_due`: nothing here decides a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.costing import Costed, costed
from domain.derive import next_due
from domain.financing import Case, Interval, payer_from_timeline, timeline
from domain.money import Money
from domain.state import Agreement, Dated, Dispensation, Drug, Registry
from domain.statements.rows import (CostLine, DueRow, GrantRow, IntervalRow, MovementRow, PartyRow,
                              PatientRow, RegionRow, SlotRow, minor)

UNKNOWN_RHF = "unknown-rhf"  # as domain.financing.Case.rhf_of


def rhf_of(registry: Registry, hf_id: str | None) -> str | None:
    trust = registry.trusts.get(hf_id or "")
    return trust.rhf_id if trust else None


def interval_rows(case: Case, at: int, intervals: tuple[Interval, ...] | None = None
                  ) -> list[IntervalRow]:
    p, registry = case.patient, case.registry
    company = case.agreement.company_id
    out = []
    for i in intervals if intervals is not None else timeline(case):
        payer = i.payer
        out.append(IntervalRow(p.patient_id, i.start, i.end, payer.kind, payer.party, payer.hf_id,
                               rhf_of(registry, payer.hf_id), payer.basis, payer.reason, company,
                               p.cohort_id, at, None))
    return out


def patient_row(case: Case, enrolled_at: int, at: int) -> PatientRow:
    p, registry = case.patient, case.registry
    return PatientRow(
        p.patient_id, p.cohort_id, p.agreement_id, case.agreement.company_id, p.drug_id, p.stage,
        p.hf_id, rhf_of(registry, p.hf_id), p.enrolled_on,
        p.started.since if p.started else None,
        p.ended.ended_on if p.ended else None, p.ended.reason.value if p.ended else None,
        p.assessment.outcome.value if p.assessment else None,
        p.assessment.assessed_on if p.assessment else None,
        tuple((x.since, x.value, rhf_of(registry, x.value)) for x in p.hf_periods),
        enrolled_at, p.ref or "", p.started.ref if p.started else None, at, None)


def region_rows(case: Case) -> list[RegionRow]:
    """Every RHF whose health trusts treated the patient (application.access.View.regions)."""
    regions = {rhf_of(case.registry, x.value) for x in case.patient.hf_periods}
    return [RegionRow(case.patient.patient_id, r) for r in sorted(r for r in regions if r)]


def cost_lines(case: Case, drug_of: Callable[[str], Drug], at: int,
               intervals: tuple[Interval, ...] | None = None,
               only: Callable[[Dispensation], bool] | None = None,
               staked: Callable[[Costed], bool] | None = None) -> list[CostLine]:
    """The patient's dispensations with packs (a voided one has none), costed; `only` those
    chosen; `staked`: only those whose costing it accepts (the others' lines are not made).
    With the patient's timeline at hand, the payer on each date is read from it."""
    out = []
    for d in case.patient.dispensations:
        if d.packs <= 0 or (only is not None and not only(d)):
            continue
        payer = payer_from_timeline(intervals, d.dispensed_on) if intervals else None
        drug = drug_of(d.drug_id)
        c = costed(case, drug, d, payer)
        if staked is None or staked(c):
            out.append(_line(case, drug, d, at, c))
    return out


def changed_lines(case: Case, before: Case, drug_of: Callable[[str], Drug], at: int,
                  intervals: tuple[Interval, ...], earlier: tuple[Interval, ...],
                  staked: Callable[[Costed], bool]) -> tuple[list[CostLine], list[CostLine]]:
    """After a fact on the patient's own stream that left its dispensations as they were
    (`before`: the case before the fact, `earlier`: its timeline; `intervals`: the timeline
    now): the lines whose costing changed, and the lines `staked` accepts, changed or not. A
    line is its dispensation, its costing and what such a fact leaves alone (the patient's
    cohort, its agreement's company, the registry, the drug's packs), so a dispensation
    costed alike before and after has the line it had."""
    changed, stakes = [], []
    for d in case.patient.dispensations:
        if d.packs <= 0:
            continue
        on, drug = d.dispensed_on, drug_of(d.drug_id)
        c = costed(case, drug, d, payer_from_timeline(intervals, on))
        same = costed(before, drug, d, payer_from_timeline(earlier, on)) == c
        at_stake = staked(c)
        if same and not at_stake:
            continue
        line = _line(case, drug, d, at, c)
        if not same:
            changed.append(line)
        if at_stake:
            stakes.append(line)
    return changed, stakes


def _line(case: Case, drug: Drug, d: Dispensation, at: int, c: Costed) -> CostLine:
    p, price = case.patient, c.price
    hf = c.payer.hf_id
    # a price has at most the currency's minor digits, so price x packs is exact in minor units:
    # Costed.value, without making a Money per line
    per_pack = _per_pack(price) if price else None
    return CostLine(
        p.patient_id, d.ref, int(d.ref.rpartition("@")[2]), d.last_ref, d.drug_id,
        d.dispensed_on, d.packs, c.payer.kind, c.payer.party, hf, rhf_of(case.registry, hf),
        case.agreement.company_id, p.cohort_id,
        per_pack, price.value.currency if price else None,
        price.since if price else None, price.ref if price else None,
        per_pack * d.packs if per_pack is not None else None, drug.pack_of(price),
        c.gap.value if c.gap else None, c.gap_detail or None,
        c.payer.basis if c.gap else (), at, None)


def _per_pack(price: Dated[Money]) -> int:
    """A price in minor units, worked out once per price fact (a decimal scale per line was a
    tenth of a replay's cost lines)."""
    found = _PRICES.get(price.ref)
    if found is None or found[0] != price.value:
        found = _PRICES[price.ref] = (price.value, minor(price.value))
    return found[1]


_PRICES: dict[str, tuple[Money, int]] = {}  # price fact -> (price, in minor units): a few hundred


def grant_rows(case: Case, at: int) -> tuple[list[GrantRow], list[MovementRow]]:
    p, grant = case.patient, case.patient.grant
    if grant is None:
        return [], []
    row = GrantRow(p.patient_id, p.agreement_id, case.agreement.company_id, grant.hf_id,
                   case.rhf_of(grant.hf_id), minor(grant.amount), grant.amount.currency,
                   grant.due_from, grant.ref, grant.settlement(), at, None)
    moves = [MovementRow(p.patient_id, "invoice", i.invoice_ref, i.invoiced_on, minor(i.amount),
                         i.amount.currency, at, None) for i in grant.invoices]
    moves += [MovementRow(p.patient_id, "payment", x.payment_ref, x.paid_on, minor(x.amount),
                          x.amount.currency, at, None) for x in grant.payments]
    return [row], moves


def due_rows(case: Case, intervals: tuple[Interval, ...] | None = None,
             wanted: list[Any] | None = None) -> list[DueRow]:
    due = next_due(case, intervals, wanted)
    return [] if due is None else [DueRow(case.patient.patient_id, due)]


def slot_rows(agreement: Agreement, at: int) -> list[SlotRow]:
    if not agreement.exists:
        return []
    return [SlotRow(agreement.agreement_id, drug_id, agreement.company_id, slots.value, at, None)
            for drug_id, slots in sorted(agreement.slots.items())]


def trust_rows(registry: Registry, at: int) -> list[PartyRow]:
    return [PartyRow(f"trust/{t.hf_id}", t.rhf_id, at, None)
            for t in sorted(registry.trusts.values(), key=lambda t: t.hf_id)]


def company_rows(company: Any, at: int) -> list[PartyRow]:
    return [PartyRow(f"company/{company.company_id}", None, at, None)] if company.exists else []
