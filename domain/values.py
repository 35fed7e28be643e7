"""Small value types shared by events, commands and rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Outcome(StrEnum):
    """The 16-week assessment of response (RECIST-style, as the IMPRESS and DRUP protocols use)."""

    OBJECTIVE_RESPONSE = "objective_response"
    STABLE_DISEASE = "stable_disease"
    PROGRESSIVE_DISEASE = "progressive_disease"
    NOT_EVALUABLE = "not_evaluable"

    @property
    def is_benefit(self) -> bool:
        """Clinical benefit at 16 weeks is disease control: a response or stable disease."""
        return self in (Outcome.OBJECTIVE_RESPONSE, Outcome.STABLE_DISEASE)


class EndReason(StrEnum):
    PROGRESSION = "progression"
    TOXICITY = "toxicity"
    PATIENT_CHOICE = "patient_choice"
    DEATH = "death"
    COMPLETED = "completed"
    OTHER = "other"


class Decision(StrEnum):
    """A decision of Beslutningsforum (the RHFs' decision forum in Nye metoder)."""

    INTRODUCED = "introduced"
    REJECTED = "rejected"


# Stages are plain ints; 3 is the expansion cohort.
STAGE_1, STAGE_2, EXPANSION = 1, 2, 3
STAGE_LIMITS = {STAGE_1: 8, STAGE_2: 24}
STAGE_2_RULE = 1  # >= 1 of the first 8 with benefit opens stage 2
EXPANSION_RULE = 5  # >= 5 of the first 24 with benefit may open an expansion cohort
DEFAULT_EXPANSION_SIZE = 150
DEFAULT_COVERAGE_WEEKS = 16


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who recorded a fact: an authenticated subject acting in a role for an organisation."""

    subject: str
    role: str
    organisation: str
    request_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "subject": self.subject,
            "role": self.role,
            "organisation": self.organisation,
            "request_id": self.request_id,
        }


LEDGER = Actor(subject="impress-ledger", role="system", organisation="impress-ledger")
"""The actor of the facts the ledger derives itself (coverage ended, takeover, grant committed)."""


def ref(stream: str, version: int) -> str:
    """A reference to one recorded fact: its stream and version, e.g. 'patient/IMP-0042@3'."""
    return f"{stream}@{version}"


def parse_ref(value: str) -> tuple[str, int]:
    stream, _, version = value.rpartition("@")
    return stream, int(version)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def coverage_end(started_on: date, weeks: int) -> date:
    """The first day the company no longer covers: start + weeks x 7 (16 weeks: start + 112 days)."""
    return started_on + timedelta(days=7 * weeks)
