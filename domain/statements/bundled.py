"""The statement part of a bundle (ADR 0023, docs/proofs.md section 8): which statement it is, the
statement built with the ledger's own rules, and the facts each of its lines rests on.

The server builds a bundle's statement with `build` from its read models or a replay; a
partner's `impress-verify` builds it again with `build` from the bundle's facts alone. Both
work out what each line rests on with `rests_on`:

- a line about patients (a patient, a dispensation, a grant, a public-cost row, an adjustment)
  rests on every fact, up to the position the statement is known at, of each of its patients'
  streams: the patient's own, its cohort's, agreement's, drug's and company's, and the registry
  of health trusts (who pays on a date, and what a dispensation cost, are worked out from them);
- an agreement line (slots agreed, used, left) rests on the agreement's stream alone: it records
  each slot used (PatientSlotUsed, with the patient and the enrolment date; ADR 0024);
- the statement as a whole rests on the registry, the company's stream (company obligations)
  and, for a period as the books keep it, the scope's book (closures, issued statements).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from domain.books import StatementKind
from domain.periods import StatementPeriod
from domain.statement_lines import StatementLine
from domain.statements.adjustments import PatientSources
from domain.statements.period import Period
from domain.statements.periods import Books, book_key, period_statement
from domain.statements.public import By
from domain.statements.restate import Restatement, restate
from domain.statements.restate import build as build_plain
from domain.statements.rows import PatientRow
from domain.statements.scope import Scope, ScopeKind
from domain.statements.text import Line
from domain.workspace import REGISTRY

@dataclass(frozen=True)
class Spec:
    """Which statement: its kind, scope and period, as known at log position `position`; a
    period's statement as the books keep it when `label` is set (else a span of dates); issued
    under `number`; or, with `since`, its restatement from that position to `position`."""

    kind: StatementKind
    scope: Scope
    period: Period
    position: int
    label: str | None = None
    by: By = By.MONTH
    number: str | None = None
    since: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value,
                "scope": {"kind": self.scope.kind.value, "party": self.scope.party,
                          "region": self.scope.region},
                "from": self.period.start.isoformat(), "to": self.period.end.isoformat(),
                "period": self.label, "by": self.by.value, "known_at": self.position,
                "number": self.number, "since": self.since}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Spec:
        """Raises KeyError, TypeError or ValueError on a malformed statement part."""
        scope = value["scope"]
        position, since = value["known_at"], value["since"]
        if type(position) is not int or (since is not None and type(since) is not int):
            raise TypeError("known_at and since are log positions")
        spec = cls(StatementKind(value["kind"]),
                   Scope(ScopeKind(scope["kind"]), _text(scope["party"]), _text(scope["region"])),
                   Period(date.fromisoformat(value["from"]), date.fromisoformat(value["to"])),
                   position, _text(value["period"]), By(value["by"]), _text(value["number"]),
                   since)
        if spec.label is not None:
            found = StatementPeriod.parse(spec.label)
            if (found.start, found.end) != (spec.period.start, spec.period.end):
                raise ValueError(f"the period {spec.label} is not {spec.period}")
        return spec

    @property
    def book(self) -> str | None:
        """The stream of the scope's book, for a period's statement as the books keep it."""
        key = book_key(self.kind, self.scope)
        return key.stream if key is not None and self.label is not None else None

    def streams(self) -> tuple[str, ...]:
        """The streams the statement as a whole rests on."""
        found = [REGISTRY]
        if self.scope.kind is ScopeKind.COMPANY and self.scope.party:
            found.append(f"company/{self.scope.party}")
        if self.book is not None:
            found.append(self.book)
        return tuple(found)


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


@dataclass(frozen=True)
class Built:
    """A statement built for a bundle: its lines (with the patients behind each), and for a
    restatement the restatement and the lines of both statements it compares."""

    spec: Spec
    lines: tuple[Line, ...]
    restatement: Restatement | None = None
    compared: tuple[Line, ...] = ()  # a restatement's lines that changed, before and after

    def canonical(self) -> list[StatementLine]:
        return [StatementLine.of(x.section, x.key, x.values) for x in self.lines]

    @property
    def patients(self) -> set[str]:
        """The patients whose streams a line rests on (an agreement line names its patients,
        but rests on the agreement's stream), and those a restatement names as changed."""
        return {p for line in (*self.lines, *self.compared) if line.section != "agreement"
                for p in line.patients} | set(self.changed)

    @property
    def changed(self) -> tuple[str, ...]:
        """The patients a restatement's changes name: it finds the facts that changed each
        line in their streams (a late enrolment, for an agreement line's slots used)."""
        if self.restatement is None:
            return ()
        return tuple(sorted({p for c in self.restatement.changes for p in c.patients}))


def build(spec: Spec, sources: PatientSources, books: Books) -> Built:
    if spec.since is not None:
        return _restated(spec, sources)
    if spec.label is not None:
        found = period_statement(sources, books, spec.kind, spec.scope,
                                 StatementPeriod.parse(spec.label), spec.position)
        return Built(spec, tuple(found.lines()))
    base = build_plain(spec.kind, sources.at(spec.position), spec.period, spec.scope, spec.by)
    return Built(spec, tuple(base.lines()))


def _restated(spec: Spec, sources: PatientSources) -> Built:
    assert spec.since is not None
    restated = restate(sources, spec.kind, spec.period, spec.scope, issued=spec.since,
                       now=spec.position, by=spec.by)
    if spec.number is not None:
        restated = replace(restated, number=spec.number, period_label=spec.label)
    changed = {(c.section, c.key) for c in restated.changes}
    compared = tuple(x for position in (spec.since, spec.position)
                     for x in build_plain(spec.kind, sources.at(position), spec.period,
                                          spec.scope, spec.by).lines()
                     if (x.section, x.key) in changed)
    return Built(spec, (), restated, compared)


# --- what each line rests on ------------------------------------------------------------------


def patient_streams(row: PatientRow) -> set[str]:
    """The streams a patient's figures are worked out from (as domain.statements.replay)."""
    return {f"patient/{row.patient_id}", f"cohort/{row.cohort_id}",
            f"agreement/{row.agreement_id}", f"drug/{row.drug_id}",
            f"company/{row.company_id}", REGISTRY}


def rests_on(line: Line, patients: Mapping[str, PatientRow]) -> tuple[str, ...]:
    """The streams a line rests on: every fact of each up to the statement's position."""
    if line.section == "agreement":
        return (f"agreement/{line.key[0]}",)
    found: set[str] = set()
    for p in line.patients:
        found |= patient_streams(patients[p])
    return tuple(sorted(found))


def support(built: Built, patients: Mapping[str, PatientRow]) -> tuple[tuple[str, ...], ...]:
    """What the bundle's facts are: the statement's streams and every line's (a restatement:
    every line compared, and the streams of every patient its changes name)."""
    lines: Iterable[Line] = (*built.lines, *built.compared)
    return (built.spec.streams(), *(rests_on(x, patients) for x in lines),
            *(tuple(sorted(patient_streams(patients[p]))) for p in built.changed))
