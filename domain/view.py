"""What a decision reads, and what it returns.

A decider is `decide(view, command) -> Facts`: it reads the streams' states as known when the
command is recorded (and the day it is recorded) through a `View`, and returns the facts it
decides, each with the stream it goes to. It writes nothing: `domain.decide.execute` records
them into a workspace and derives what follows.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from domain import state as st
from domain.events import Event

Facts = list[tuple[str, Event]]
"""Decided facts, each with its stream ('patient/IMP-0042'), in the order they are recorded."""


class View(Protocol):
    """The ledger as known when a command is recorded."""

    today: date
    """The day the command is recorded (Oslo time, the ledger's clock)."""

    def registry(self) -> st.Registry: ...
    def company(self, company_id: str) -> st.Company: ...
    def drug(self, drug_id: str) -> st.Drug: ...
    def agreement(self, agreement_id: str) -> st.Agreement: ...
    def cohort(self, cohort_id: str) -> st.Cohort: ...
    def patient(self, patient_id: str) -> st.Patient: ...
    def book(self, stream: str) -> st.StatementBook: ...


REGISTRY = "registry/health-trusts"


def patient_stream(patient_id: str) -> str:
    return f"patient/{patient_id}"


def cohort_stream(cohort_id: str) -> str:
    return f"cohort/{cohort_id}"


def agreement_stream(agreement_id: str) -> str:
    return f"agreement/{agreement_id}"
