"""What a caller may see of a statement: everything, a company's, or an RHF's, judged on rows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict

from domain import errors as err
from domain.statements.rows import CostLine, GrantRow, IntervalRow, PatientRow


class Who(TypedDict):
    company: str | None
    rhf: str | None


class ScopeKind(StrEnum):
    EVERYTHING = "everything"  # auditor, hospital procurement
    COMPANY = "company"  # a pharma partner: its own agreements and patients
    RHF = "rhf"  # an RHF finance officer: patients treated in the region, on those dates
    HF = "hf"  # one health trust (of `region`): patients treated there, on those dates


@dataclass(frozen=True)
class Scope:
    """Who sees what, judged on rows. An interval never spans a change of treating health
    trust (the timeline splits at every transfer), and a cost line is about one day, so each
    has one health trust and RHF: an RHF sees the intervals and lines of its region."""

    kind: ScopeKind = ScopeKind.EVERYTHING
    party: str | None = None
    region: str | None = None  # a health trust's RHF

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def company(cls, company_id: str) -> Scope:
        return cls(ScopeKind.COMPANY, company_id)

    @classmethod
    def rhf(cls, rhf_id: str) -> Scope:
        return cls(ScopeKind.RHF, rhf_id)

    @classmethod
    def hf(cls, hf_id: str, rhf_id: str) -> Scope:
        return cls(ScopeKind.HF, hf_id, rhf_id)

    @property
    def company_id(self) -> str | None:
        return self.party if self.kind is ScopeKind.COMPANY else None

    @property
    def rhf_id(self) -> str | None:
        return self.party if self.kind is ScopeKind.RHF else self.region

    def who(self) -> Who:
        """The scope as a source's arguments (domain.statements.source.Source)."""
        return Who(company=self.company_id, rhf=self.rhf_id)

    def sees_company(self, company_id: str) -> bool:
        return self.kind is not ScopeKind.COMPANY or company_id == self.party

    def sees(self, row: IntervalRow | CostLine | GrantRow) -> bool:
        """An interval, a cost line or a grant: by its company, or its health trust's RHF."""
        if self.kind is ScopeKind.COMPANY:
            return row.company_id == self.party
        if self.kind is ScopeKind.RHF:
            return row.rhf_id == self.party
        if self.kind is ScopeKind.HF:
            return row.hf_id == self.party
        return True

    def sees_patient(self, p: PatientRow) -> bool:
        """Whether any of the patient's facts is visible at all."""
        if self.kind is ScopeKind.COMPANY:
            return p.company_id == self.party
        if self.kind is ScopeKind.RHF:
            return any(rhf == self.party for _, _, rhf in p.hf_periods)
        if self.kind is ScopeKind.HF:
            return any(hf == self.party for _, hf, _ in p.hf_periods)
        return True

    def sees_rhf(self, rhf_id: str | None) -> bool:
        return self.kind not in (ScopeKind.RHF, ScopeKind.HF) or rhf_id == self.rhf_id

    def sees_hf(self, hf_id: str | None) -> bool:
        return self.kind is not ScopeKind.HF or hf_id == self.party

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind.value, "party": self.party}

    def __str__(self) -> str:
        return self.kind.value if self.party is None else f"{self.kind.value} {self.party}"


def check(source: Any, scope: Scope) -> Scope:
    """Refuse a scope naming a company or RHF the ledger does not know (as the source knows)."""
    if scope.kind is ScopeKind.COMPANY and not source.company_exists(scope.party or ""):
        raise err.UnknownCompany(scope.party or "")
    if scope.kind is ScopeKind.RHF and scope.party not in source.rhf_ids():
        raise err.NotFound("regional health authority", scope.party or "")
    if scope.kind is ScopeKind.HF and scope.region not in source.rhf_ids():
        raise err.UnknownHealthTrust(scope.party or "")
    return scope
