"""The who-pays read model's rows and tables.

Intervals are bitemporal: `start_on`..`end_on` is valid time (the days an answer is about,
inclusive; `end_on` NULL = open-ended), `known_from`..`known_to` is transaction time in log
positions (the row was the answer from position `known_from` on, until position `known_to`
superseded it; NULL = still the answer). "As known at position K" is therefore
`known_from <= K AND (known_to IS NULL OR known_to > K)`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from operator import attrgetter
from typing import Any

from domain.financing import Payer, PayerKind
from projections.store import Database, check_name


@dataclass(frozen=True)
class IntervalRow:
    """One interval of a patient's payer timeline, as known from `known_from` to `known_to`."""

    patient_id: str
    start: date
    end: date | None  # inclusive; None: open-ended
    kind: PayerKind
    party: str | None  # company_id, rhf_id or hf_id, by kind (as domain.financing.Payer)
    hf_id: str | None  # the health trust treating the patient in the interval
    rhf_id: str | None  # that health trust's RHF (the public payer if kind is public)
    basis: tuple[str, ...]  # the facts the answer rests on (stream@version)
    reason: str
    known_from: int
    known_to: int | None

    def covers(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on <= self.end)

    @property
    def payer(self) -> Payer:
        return Payer(self.kind, self.party, self.hf_id, self.basis, self.reason)

    def content(self) -> tuple[Any, ...]:
        """What the answer says, without when it was known."""
        return (self.start, self.end, self.kind, self.party, self.hf_id, self.rhf_id,
                self.basis, self.reason)


@dataclass(frozen=True)
class PatientRow:
    """A patient as currently known (not bitemporal: the intervals are)."""

    patient_id: str
    cohort_id: str
    agreement_id: str
    company_id: str
    drug_id: str
    stage: int
    hf_id: str  # the health trust of the latest recorded transfer (or enrolment)
    rhf_id: str | None
    enrolled_on: date | None
    started_on: date | None
    ended_on: date | None
    assessment_outcome: str | None
    assessed_on: date | None
    changed_at: int  # the log position at which this row last changed

    def content(self) -> tuple[Any, ...]:
        """What the row says, without when it last changed."""
        return _PATIENT_CONTENT(self)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Difference:
    """One way the live read model differs from a replay of the log (see `verify`)."""

    table: str  # "intervals" | "patients"
    patient_id: str
    row: str  # which row: "start 2023-10-02, known_from 57" or the patient id
    field: str  # a column, or "row" when the row is missing on one side
    live: Any
    replayed: Any


INTERVAL_COLUMNS = ("patient_id", "start_on", "end_on", "kind", "party", "hf_id", "rhf_id",
                    "basis", "reason", "known_from", "known_to")
PATIENT_COLUMNS = tuple(f.name for f in fields(PatientRow))
_PATIENT_CONTENT = attrgetter(*(c for c in PATIENT_COLUMNS if c != "changed_at"))
_PATIENT_DATES = {"enrolled_on", "started_on", "ended_on", "assessed_on"}


@dataclass(frozen=True)
class Tables:
    """One set of the read model's tables: the live one, a rebuild's, or a scratch copy."""

    name: str  # the row in projection_tracking
    prefix: str

    def __post_init__(self) -> None:
        check_name(self.prefix)

    @property
    def intervals(self) -> str:
        return f"{self.prefix}_intervals"

    @property
    def patients(self) -> str:
        return f"{self.prefix}_patients"

    def create_ddl(self, db: Database) -> list[str]:
        d, j = db.date_type, db.json_type
        return [
            f"CREATE TABLE IF NOT EXISTS {self.intervals} (patient_id TEXT NOT NULL, "
            f"start_on {d} NOT NULL, end_on {d}, kind TEXT NOT NULL, party TEXT, hf_id TEXT, "
            f"rhf_id TEXT, basis {j} NOT NULL, reason TEXT NOT NULL, known_from BIGINT NOT NULL, "
            f"known_to BIGINT, CONSTRAINT {self.intervals}_pk "
            "PRIMARY KEY (patient_id, known_from, start_on))",
            f"CREATE TABLE IF NOT EXISTS {self.patients} (patient_id TEXT NOT NULL, "
            "cohort_id TEXT NOT NULL, agreement_id TEXT NOT NULL, company_id TEXT NOT NULL, "
            "drug_id TEXT NOT NULL, stage INTEGER NOT NULL, hf_id TEXT NOT NULL, rhf_id TEXT, "
            f"enrolled_on {d}, started_on {d}, ended_on {d}, assessment_outcome TEXT, "
            f"assessed_on {d}, changed_at BIGINT NOT NULL, "
            f"CONSTRAINT {self.patients}_pk PRIMARY KEY (patient_id))",
        ]

    def index_ddl(self) -> list[str]:
        """Indexes for the filters of `patients()`; made once a table set goes live (a replay
        writes faster without them, and index names must stay unique after a rename)."""
        return [f"CREATE INDEX IF NOT EXISTS {self.patients}_{c} ON {self.patients} ({c})"
                for c in ("rhf_id", "company_id", "cohort_id")]

    def drop_ddl(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {t}" for t in (self.intervals, self.patients)]

    def rename_ddl(self, to: Tables, db: Database) -> list[str]:
        out = []
        for mine, theirs in ((self.intervals, to.intervals), (self.patients, to.patients)):
            out.append(f"ALTER TABLE {mine} RENAME TO {theirs}")
            if db.postgres:  # the primary key's index keeps its name: give it the new one
                out.append(f"ALTER TABLE {theirs} RENAME CONSTRAINT {mine}_pk TO {theirs}_pk")
        return out


LIVE = Tables("whopays", "whopays")


# --- to and from the database ---------------------------------------------------------------


def interval_params(db: Database, r: IntervalRow) -> tuple[Any, ...]:
    return (r.patient_id, db.date_in(r.start), db.date_in(r.end), r.kind.value, r.party,
            r.hf_id, r.rhf_id, db.json_in(list(r.basis)), r.reason, r.known_from, r.known_to)


def interval_from(db: Database, row: tuple[Any, ...]) -> IntervalRow:
    (patient_id, start, end, kind, party, hf_id, rhf_id, basis, reason, known_from,
     known_to) = row
    start_on = db.date_out(start)
    assert start_on is not None
    return IntervalRow(patient_id, start_on, db.date_out(end), PayerKind(kind), party, hf_id,
                       rhf_id, tuple(db.json_out(basis)), reason, int(known_from),
                       None if known_to is None else int(known_to))


def patient_params(db: Database, r: PatientRow) -> tuple[Any, ...]:
    return tuple(db.date_in(getattr(r, c)) if c in _PATIENT_DATES else getattr(r, c)
                 for c in PATIENT_COLUMNS)


def patient_from(db: Database, row: tuple[Any, ...]) -> PatientRow:
    values = {c: (db.date_out(v) if c in _PATIENT_DATES else v)
              for c, v in zip(PATIENT_COLUMNS, row)}
    values["stage"], values["changed_at"] = int(values["stage"]), int(values["changed_at"])
    return PatientRow(**values)


def select_intervals(t: Tables) -> str:
    return f"SELECT {', '.join(INTERVAL_COLUMNS)} FROM {t.intervals}"


def select_patients(t: Tables) -> str:
    return f"SELECT {', '.join(PATIENT_COLUMNS)} FROM {t.patients}"


def insert_interval(t: Tables) -> str:
    return (f"INSERT INTO {t.intervals} ({', '.join(INTERVAL_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(INTERVAL_COLUMNS))})")


def upsert_patient(t: Tables) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in PATIENT_COLUMNS[1:])
    return (f"INSERT INTO {t.patients} ({', '.join(PATIENT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(PATIENT_COLUMNS))}) "
            f"ON CONFLICT (patient_id) DO UPDATE SET {updates}")


def close_interval(t: Tables) -> str:
    return (f"UPDATE {t.intervals} SET known_to = ? WHERE patient_id = ? AND known_from = ? "
            "AND start_on = ? AND known_to IS NULL")
