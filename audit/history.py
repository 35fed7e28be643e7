"""Every recorded fact about a patient, cohort or agreement, for auditors: when it was recorded,
by whom, and how it links to other facts (a correction to the fact it `corrects`, a retraction
to the derived fact it `retracts`, a derived fact to its `basis`), as JSON lines or CSV.

"About" means: the facts of the subject's own stream, and the facts of other streams that name
it (a cohort's `PatientAdmitted` names the patient; a patient's `PatientEnrolled` names the
cohort and the agreement; a stage decision's basis names the patient's assessment). The
facts are as stored (`data`, with its schema version), never upcast or re-encoded.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import IO, Any

from domain import errors as err
from domain.events import EVENT_TYPES, field_names
from eventstore import EventLog, StoredFact
from domain.values import ref


class Subject(StrEnum):
    PATIENT = "patient"
    COHORT = "cohort"
    AGREEMENT = "agreement"

    @property
    def field(self) -> str:
        return f"{self.value}_id"

    def unknown(self, identifier: str) -> err.Refused:
        return {Subject.PATIENT: err.UnknownPatient, Subject.COHORT: err.UnknownCohort,
                Subject.AGREEMENT: err.UnknownAgreement}[self](identifier)


@dataclass(frozen=True)
class HistoryRow:
    fact: StoredFact
    corrected_by: tuple[str, ...]
    retracted_by: tuple[str, ...]

    @property
    def ref(self) -> str:
        return ref(self.fact.stream, self.fact.version)

    def links(self, name: str) -> Any:
        return self.fact.data.get(name)

    def to_dict(self) -> dict[str, Any]:
        f = self.fact
        return {
            "position": f.position, "recorded_at": f.recorded_at.isoformat(), "ref": self.ref,
            "stream": f.stream, "version": f.version, "type": f.type, "schema": f.schema,
            "valid_on": f.valid_on.isoformat() if f.valid_on else None,
            "actor": {k: f.actor.get(k) for k in ("subject", "role", "organisation",
                                                  "request_id")},
            "corrects": _text(self.links("corrects")), "corrected_by": list(self.corrected_by),
            "retracts": _text(self.links("retracts")), "retracted_by": list(self.retracted_by),
            "basis": _refs(self.links("basis")), "data": f.data,
        }


def history(log: EventLog, subject: Subject, identifier: str) -> list[HistoryRow]:
    """Every fact about the subject, in log order; refuses a subject the log never heard of."""
    stream = f"{subject.value}/{identifier}"
    own = log.stream(stream)
    if not own:
        raise subject.unknown(identifier)
    facts = {f.position: f for f in own}
    for f in _naming(log, subject, identifier, own):
        facts.setdefault(f.position, f)
    ordered = [facts[p] for p in sorted(facts)]
    return linked(ordered)


def _naming(log: EventLog, subject: Subject, identifier: str,
            own: Sequence[StoredFact]) -> Iterable[StoredFact]:
    """The facts of other streams that name the subject."""
    if subject is Subject.PATIENT:
        # A patient is named only in its cohort's and agreement's streams: read those.
        streams = {f"{kind}/{f.data[f'{kind}_id']}" for f in own for kind in ("cohort", "agreement")
                   if isinstance(f.data.get(f"{kind}_id"), str)}
        # only the facts whose stored form names it are decoded (at M an agreement's stream
        # holds 37 000 facts, each naming one patient); the test below still decides
        candidates: Iterable[StoredFact] = (f for s in sorted(streams)
                                            for f in log.stream(s, mentioning=identifier))
    else:
        # Few types carry a cohort or agreement id: let the database pick them by type.
        types = sorted(t for t, cls in EVENT_TYPES.items() if subject.field in field_names(cls))
        candidates = log.read(types=types)
    prefix = f"{subject.value}/{identifier}@"
    for f in candidates:
        if f.data.get(subject.field) == identifier or any(
                b.startswith(prefix) for b in _refs(f.data.get("basis"))):
            yield f


@dataclass(frozen=True)
class LogPage:
    """A page of the raw log in commit order: `next_after` None at its end."""

    head: int
    facts: list[StoredFact]
    next_after: int | None


def log_page(log: EventLog, after: int, limit: int, types: Sequence[str] = ()) -> LogPage:
    """Up to `limit` facts after position `after` (of these types, if any)."""
    facts: list[StoredFact] = []
    for fact in log.read(after=after, types=list(types), batch=limit + 1):
        facts.append(fact)
        if len(facts) > limit:
            break
    more = len(facts) > limit
    facts = facts[:limit]
    return LogPage(log.head(), facts, facts[-1].position if more else None)


def linked(facts: list[StoredFact], later: Iterable[StoredFact] = ()) -> list[HistoryRow]:
    """Each fact with the facts that correct or retract it (links both ways): among `facts`,
    and among `later` (facts after them, of which only the links are read: a history's page
    is linked as the whole history is)."""
    corrected_by: dict[str, list[str]] = {}
    retracted_by: dict[str, list[str]] = {}
    for f in [*facts, *later]:
        if isinstance(f.data.get("corrects"), str):
            corrected_by.setdefault(f.data["corrects"], []).append(ref(f.stream, f.version))
        if isinstance(f.data.get("retracts"), str):
            retracted_by.setdefault(f.data["retracts"], []).append(ref(f.stream, f.version))
    return [HistoryRow(f, tuple(corrected_by.get(ref(f.stream, f.version), ())),
                       tuple(retracted_by.get(ref(f.stream, f.version), ()))) for f in facts]


def _refs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- export ---------------------------------------------------------------------------------

FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("position", "recorded_at", "ref", "stream", "version", "type", "schema",
               "valid_on", "actor_subject", "actor_role", "actor_organisation",
               "actor_request_id", "corrects", "corrected_by", "retracts", "retracted_by",
               "basis", "data")


def write_jsonl(rows: Iterable[HistoryRow], out: IO[str]) -> None:
    for row in rows:
        out.write(json.dumps(row.to_dict(), ensure_ascii=False, default=_json_default) + "\n")


def write_csv(rows: Iterable[HistoryRow], out: IO[str]) -> None:
    """One row per fact; lists joined with spaces (refs hold none); data as a JSON object."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        d = row.to_dict()
        actor = d.pop("actor")
        d |= {f"actor_{k}": v for k, v in actor.items()}
        d["data"] = json.dumps(d["data"], ensure_ascii=False, sort_keys=True)
        for name in ("corrected_by", "retracted_by", "basis"):
            d[name] = " ".join(d[name])
        writer.writerow(["" if d[c] is None else d[c] for c in CSV_COLUMNS])


def write(rows: Iterable[HistoryRow], fmt: str, out: IO[str]) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    (write_jsonl if fmt == "jsonl" else write_csv)(rows, out)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
