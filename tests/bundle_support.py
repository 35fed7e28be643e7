"""Shared by the statement-bundle tests: a ledger with the demo history, statements issued, a
signed head, and bundles made for a tenant as the API makes them (audit.bundles)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.access import PARTNER, PROCUREMENT, RHF_FINANCE, View
from application.ledger import Ledger
from application.writer import Writer
from audit import bundles, heads
from domain import commands as c
from domain.books import BookKey, StatementKind
from domain.errors import Refused
from domain.periods import StatementPeriod
from domain.statements.bundled import Spec
from domain.statements.period import Period
from domain.statements.public import By
from domain.statements.scope import Scope
from domain.values import Actor
from proofs.bundle import Bundle
from proofs.keys import SigningKey
from reports import bookkeeping as bk
from reports.books import Books
from reports.statements_replay import ReplaySources

COMPANIES = ("astrazeneca", "eli-lilly-norge", "glaxosmithkline", "novartis-norge", "roche-norge")
SIGNER = Actor(subject="ops:heads", role="auditor", organisation="impress")
TRIAL = Actor(subject="ola@impress", role="trial_office", organisation="impress")
BUYER = Actor(subject="kari@lis", role=PROCUREMENT, organisation="sykehusinnkjop")


def partner(company: str) -> Actor:
    return Actor(subject=f"finance@{company}", role=PARTNER, organisation=company)


def officer(rhf: str) -> Actor:
    return Actor(subject=f"finance@{rhf}", role=RHF_FINANCE, organisation=rhf)


@dataclass
class Signed:
    """A ledger whose heads are signed with one key, and the documents made from it."""

    ledger: Ledger
    key: SigningKey = field(default_factory=lambda: SigningKey(Ed25519PrivateKey.generate()))

    @property
    def keys(self) -> dict[str, bytes]:
        return {self.key.key_id: self.key.public_raw}

    def sign(self) -> heads.RecordedHead:
        return heads.sign(Ledger(self.ledger.log), self.key, SIGNER)  # no cached states

    def record(self, command: c.Command, actor: Actor = TRIAL) -> int:
        return Writer(self.ledger).record([command], actor).position

    def issue(self, key: BookKey, period: str, actor: Actor) -> str:
        issued = bk.issue(Writer(self.ledger), lambda: ReplaySources(self.ledger),
                          Books(self.ledger), actor, key, StatementPeriod.parse(period))
        return issued.fact.number

    def close(self, key: BookKey, period: str, actor: Actor) -> int:
        return bk.close(Writer(self.ledger), actor, key, StatementPeriod.parse(period)).position

    def bundle(self, actor: Actor, spec: Spec, *, issued_at: int | None = None,
               archived: Sequence[int] = (), sources: Any = None,
               earlier: int | None = None) -> Bundle:
        made = bundles.make(self.ledger, View(actor, self.ledger.workspace()), spec,
                            sources or ReplaySources(self.ledger), Books(self.ledger),
                            issued_at=issued_at, archived=archived, earlier=earlier)
        return Bundle.from_dict(json.loads(json.dumps(made.to_dict())))  # as a partner reads it

    def issued(self, actor: Actor, number: str, *, restated: bool = False,
               archived: Sequence[int] = (), sources: Any = None) -> Bundle:
        spec, issued_at = bundles.issued_spec(self.ledger, Books(self.ledger), number,
                                              restated=restated)
        return self.bundle(actor, spec, issued_at=issued_at, archived=archived, sources=sources)

    def company(self, company: str, *, label: str | None = None,
                period: Period | None = None, sources: Any = None,
                earlier: int | None = None) -> Bundle:
        spec = bundles.asked_spec(self.ledger, StatementKind.COMPANY, Scope.company(company),
                                  label=label, period=period, by=By.QUARTER)
        return self.bundle(partner(company), spec, sources=sources, earlier=earlier)


def company_book(company: str) -> BookKey:
    return BookKey.of("company", "company", company)


def late_enrolment(demo: Signed, company: str, within: Period, patient_id: str = "IMP-0999"
                   ) -> int:
    """A patient enrolled late (dated within the period) under one of the company's agreements,
    in the first of its cohorts, trusts and days that has a place and a slot."""
    ws = demo.ledger.workspace()
    cohorts = sorted(s.partition("/")[2] for s in demo.ledger.log.streams("cohort/")
                     if ws.agreement(ws.cohort(s.partition("/")[2]).agreement_id).company_id
                     == company)
    trusts = sorted(ws.registry().trusts)
    for cohort in cohorts:
        for day in range(0, (within.end - within.start).days, 10):
            try:
                return demo.record(c.EnrolPatient(
                    patient_id=patient_id, cohort_id=cohort, hf_id=trusts[0],
                    enrolled_on=within.start + timedelta(days=day)))
            except Refused:
                continue
    raise AssertionError(f"no cohort of {company} takes a patient in {within}")
