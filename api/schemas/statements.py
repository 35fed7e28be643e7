"""Response bodies of statements, restatements, the worklist, upcoming coverage ends and the
books of issued statements (ADR 0022), so a partner can generate a client.

Amounts are text ("22468.00") beside their currency, never floats; totals are objects of
currency -> amount ({"NOK": "67404.00"}), never summed across currencies. A list of ids an
actor may not all see comes with `<name>_withheld` (how many, and why: ADR 0016).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from api.schemas.responses import FactOut, Out, WithheldOut
from api.schemas.types import MoneyOut

Totals = dict[str, str]
TOTALS = Field(description="Per currency: the sum, as text.", examples=[{"NOK": "67404.00"}])
WITHHELD = Field(default=None, description="How many more the list holds that you may not see, "
                 "and why; absent when none.")


class PeriodOut(Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: str = Field(alias="from", examples=["2024-01-01"])
    end: str = Field(alias="to", examples=["2024-03-31"])


class ScopeOut(Out):
    kind: str = Field(description="everything | company | rhf | hf", examples=["rhf"])
    party: str | None = Field(examples=["helse-vest"])


class KnownOut(Out):
    position: int = Field(description="The log position the figures are as known at.",
                          examples=[979])
    recorded_at: str | None = Field(description="When the fact at that position was recorded.",
                                    examples=["2026-11-30T06:37:23.764496+00:00"])


class DispensationOut(Out):
    patient_id: str = Field(examples=["IMP-0027"])
    ref: str = Field(description="The dispensation fact.", examples=["patient/IMP-0027@9"])
    in_force: str = Field(description="The fact that says it as it stands (a correction).")
    dispensed_on: str = Field(examples=["2024-02-12"])
    drug_id: str
    packs: int
    pack: str | None = Field(description="What one pack is, at the price in force.")
    payer: str = Field(examples=["public"])
    party: str | None
    hf_id: str | None
    price_per_pack: MoneyOut | None
    price_ref: str | None
    value: MoneyOut | None


class CostRowOut(Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    period: str = Field(description="The row's month or quarter.", examples=["2024-01"])
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    rhf_id: str
    hf_id: str
    patients: list[str] = Field(description="Patients the public side paid for in the row.")
    patients_withheld: WithheldOut | None = WITHHELD
    public_days: int
    packs: int
    value: Totals = TOTALS
    dispensations: list[DispensationOut]


class AgreementLineOut(Out):
    agreement_id: str
    company_id: str
    drug_id: str
    slots_agreed: int
    slots_used: int
    slots_left: int
    enrolled_in_period: int
    patients: list[str]
    patients_withheld: WithheldOut | None = WITHHELD


class SpanOut(Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: str = Field(alias="from")
    end: str = Field(alias="to")


class GrantLineOut(Out):
    hf_id: str
    due_from: str
    committed: MoneyOut
    invoiced: MoneyOut
    paid: MoneyOut
    outstanding: MoneyOut
    to_settle: str


class PatientLineOut(Out):
    patient_id: str
    company_id: str
    agreement_id: str
    cohort_id: str
    drug_id: str
    stage: int
    treating_hfs: list[str]
    started_on: str | None
    ended_on: str | None
    company_coverage: list[SpanOut]
    packs: int
    value: Totals = TOTALS
    dispensations: list[DispensationOut]
    grant: GrantLineOut | None


class FactRefOut(Out):
    position: int
    ref: str = Field(examples=["patient/IMP-0027@31"])
    type: str = Field(examples=["DrugDispensed"])
    valid_on: str | None = Field(description="The date the fact is about.")
    recorded_at: str
    actor: str
    why: str = Field(description="late | correction | new | derived")
    reason: str | None


class AdjustmentOut(Out):
    period: str = Field(description="The closed period the change belongs to.",
                        examples=["2024Q1"])
    patient_id: str
    what: str = Field(description="public cost | public days | packs | drug at the company's "
                      "cost | grant committed | grant invoiced | grant paid")
    change: str = Field(description="The change: an amount (with `currency`) or a count.",
                        examples=["22468.00"])
    currency: str | None
    fact: FactRefOut = Field(description="The fact that caused it.")


class ClosureOut(Out):
    booked: str = Field(description="The statement whose figures the period keeps.",
                        examples=["PC-helse-vest-2024Q1-1"])
    booked_position: int
    closed_on: str


class IssuedOut(Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra={
        "examples": [{"number": "PC-helse-vest-2024Q1-1", "period": "2024Q1",
                      "from": "2024-01-01", "to": "2024-03-31", "position": 979,
                      "lines_format": "impress-statement-lines-v1",
                      "lines_hash": "504cb7a0b872edd71cceaba6a6f9aab28d5e1de585db9b8eec8adf2e4f602a4f",
                      "line_count": 10, "supersedes": None, "issued_on": "2026-11-30",
                      "fact": "statements/public-cost.rhf.helse-vest@1"}]})
    number: str
    period: str
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    position: int = Field(description="The log position its lines were built at.")
    lines_format: str
    lines_hash: str = Field(description="SHA-256 over its canonical lines (docs/statements.md).")
    line_count: int
    supersedes: str | None
    issued_on: str
    fact: str


class PeriodFieldsOut(Out):
    """What a period's statement (asked with `period=`) adds."""

    statement_period: str | None = Field(default=None, examples=["2024Q2"])
    status: str | None = Field(default=None, description="open | closed")
    number: str | None = Field(default=None, description="The issued statement it is (an "
                               "issued one produced again, or the one a closed period booked).")
    asked_at: KnownOut | None = Field(default=None, description="The position asked about "
                                      "(a closed period's figures are as booked).")
    closure: ClosureOut | None = None
    issued: IssuedOut | None = None
    adjustments: list[AdjustmentOut] = Field(default_factory=list, description="Changes to "
                                             "closed periods since they were booked, fact by "
                                             "fact (in the first open period only).")
    adjustment_totals: Totals = Field(default_factory=dict)


class PublicCostTotalsOut(Out):
    patients: int
    public_days: int
    packs: int
    value: Totals = TOTALS


class PublicCostOut(PeriodFieldsOut):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "statement": "public-cost", "period": {"from": "2024-04-01", "to": "2024-06-30"},
        "scope": {"kind": "rhf", "party": "helse-vest"},
        "known_at": {"position": 981, "recorded_at": "2026-11-30T06:37:25.278225+00:00"},
        "by": "month", "rows": [{
            "period": "2024-04", "from": "2024-04-01", "to": "2024-04-30",
            "rhf_id": "helse-vest", "hf_id": "helse-fonna", "patients": ["IMP-0027"],
            "public_days": 30, "packs": 2, "value": {"NOK": "22468.00"}, "dispensations": []}],
        "totals": {"patients": 1, "public_days": 91, "packs": 6, "value": {"NOK": "67404.00"}},
        "statement_period": "2024Q2", "status": "open", "number": None,
        "adjustments": [], "adjustment_totals": {}}]})
    statement: str = Field(examples=["public-cost"])
    period: PeriodOut
    scope: ScopeOut
    known_at: KnownOut
    by: str = Field(description="month | quarter")
    rows: list[CostRowOut]
    totals: PublicCostTotalsOut


class CompanyTotalsOut(Out):
    packs: int
    value: Totals = TOTALS
    grants: dict[str, Totals] = Field(description="committed, invoiced, paid, outstanding: "
                                      "per currency.")


class CompanyStatementOut(PeriodFieldsOut):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "statement": "company-obligations", "period": {"from": "2024-01-01", "to": "2024-06-30"},
        "scope": {"kind": "company", "party": "astrazeneca"},
        "known_at": {"position": 979, "recorded_at": None}, "agreements": [], "patients": [],
        "totals": {"packs": 0, "value": {}, "grants": {"committed": {}, "invoiced": {},
                                                       "paid": {}, "outstanding": {}}}}]})
    statement: str = Field(examples=["company-obligations"])
    period: PeriodOut
    scope: ScopeOut
    known_at: KnownOut
    agreements: list[AgreementLineOut]
    patients: list[PatientLineOut]
    totals: CompanyTotalsOut


class ChangedFieldOut(Out):
    field: str
    before: str
    after: str


class ChangeOut(Out):
    section: str = Field(examples=["patient"])
    key: list[str] = Field(examples=[["2024-02", "helse-vest", "helse-fonna", "IMP-0027"]])
    key_withheld: WithheldOut | None = WITHHELD
    status: str = Field(description="added | removed | changed")
    fields: list[ChangedFieldOut]
    patients: list[str]
    patients_withheld: WithheldOut | None = WITHHELD
    facts: list[int] = Field(description="Positions of the facts behind the change.")


class CauseOut(Out):
    position: int
    stream: str
    version: int
    type: str
    valid_on: str | None
    recorded_at: str
    actor: str
    role: str
    why: str = Field(description="late | correction | new | derived")
    patients: list[str]
    patients_withheld: WithheldOut | None = WITHHELD
    reason: str | None


class RestatementOut(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "statement": "restatement of public-cost", "since": "PC-helse-vest-2024Q1-1",
        "period": {"from": "2024-01-01", "to": "2024-03-31"},
        "scope": {"kind": "rhf", "party": "helse-vest"},
        "issued_at": {"position": 979, "recorded_at": None},
        "restated_at": {"position": 983, "recorded_at": None}, "changes": [], "facts": []}]})
    statement: str
    since: str | None = Field(description="The issued statement restated, if asked by number.")
    period: PeriodOut
    scope: ScopeOut
    issued_at: KnownOut
    restated_at: KnownOut
    changes: list[ChangeOut]
    facts: list[CauseOut]


class WorkItemOut(Out):
    gap: str = Field(examples=["benefit-without-exemption"])
    patient_id: str
    cohort_id: str
    since: str
    until: str | None
    hf_id: str | None
    rhf_id: str | None
    detail: str
    resolve: str
    basis: list[str]
    basis_withheld: WithheldOut | None = WITHHELD
    packs: int = Field(description="Packs dispensed in the period that the gap puts at stake.")
    value: Totals = TOTALS
    dispensations: list[DispensationOut] | None = Field(
        default=None, description="Those dispensations, each costed: only with "
                                  "dispensations=true (ADR 0026).")


class WorklistTotalsOut(Out):
    items: int
    patients: int
    packs: int
    value: Totals = TOTALS


class WorklistOut(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "statement": "financing-gap-worklist", "period": {"from": "2021-03-01", "to": "2026-11-30"},
        "scope": {"kind": "everything", "party": None},
        "known_at": {"position": 979, "recorded_at": None}, "items": [],
        "totals": {"items": 0, "patients": 0, "packs": 0, "value": {}}}]})
    statement: str
    period: PeriodOut
    scope: ScopeOut
    known_at: KnownOut
    items: list[WorkItemOut]
    totals: WorklistTotalsOut


class EndingOut(Out):
    patient_id: str
    cohort_id: str
    company_id: str
    hf_id: str
    last_covered_on: str
    days_left: int
    then: str = Field(description="Who pays from the next day: public | treating_hf | pending")
    then_party: str | None
    next_step: str


class UpcomingOut(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "statement": "upcoming-coverage-ends", "period": {"from": "2024-01-01", "to": "2024-03-31"},
        "scope": {"kind": "rhf", "party": "helse-vest"},
        "known_at": {"position": 979, "recorded_at": None}, "by_rhf": {"helse-vest": [{
            "patient_id": "IMP-0042", "cohort_id": "olaparib-brca", "company_id": "astrazeneca",
            "hf_id": "helse-stavanger", "last_covered_on": "2024-02-05", "days_left": 35,
            "then": "public", "then_party": "helse-vest",
            "next_step": "helse-vest takes over"}]}}]})
    statement: str
    period: PeriodOut
    scope: ScopeOut
    known_at: KnownOut
    by_rhf: dict[str, list[EndingOut]]


class ClosedOut(Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    period: str
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    booked: str
    booked_position: int
    closed_on: str
    fact: str


class ReopenedOut(Out):
    period: str
    reason: str
    reopened_on: str
    fact: str


class BookOut(Out):
    """A scope's books: every statement issued, the periods closed now, every reopening."""

    statement: str = Field(examples=["public-cost"])
    scope_kind: str = Field(examples=["rhf"])
    party: str = Field(examples=["helse-vest"])
    issued: list[IssuedOut]
    closed: list[ClosedOut]
    reopened: list[ReopenedOut]


class IssueReceiptOut(Out):
    """The statement issued, and what was recorded (wait for `position` on later reads)."""

    issued: IssuedOut
    position: int
    facts: list[FactOut]


def out(model: type[Out], value: str) -> str:
    """A body (JSON) checked against its model, as the model writes it (dates and the like as
    the model says). Parsed, checked and written by pydantic's core, without a Python dict in
    between: a public cost statement at M is 11 MB of JSON."""
    return model.model_validate_json(value).model_dump_json(by_alias=True, exclude_unset=True)
