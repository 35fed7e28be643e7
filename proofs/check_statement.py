"""The statement part of a bundle against the statement built again from its facts: the lines
and their hash, what each line rests on, that the bundle holds nothing else, and an issued
statement's link to the fact the ledger recorded when it issued it (docs/proofs.md section 8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain import statement_lines as sl
from domain.statements.bundled import Built, Spec, support
from domain.statements.rows import PatientRow
from proofs.bundle import Bundle
from proofs.check import Failed
from proofs.replayed import BundleLog


def _named(line: sl.StatementLine) -> str:
    return f"the {line.section} line {' / '.join(line.key) or '(no key)'}"


def check_lines(bundle: Bundle, built: Built, rests: Sequence[tuple[str, ...]]) -> None:
    """The bundle's lines are the ones the facts give, each resting on what it says; their hash
    is the bundle's lines_hash."""
    given = {(x.line.section, x.line.key): x for x in bundle.lines}
    made = {(x.section, x.key): (x, r) for x, r in zip(built.canonical(), rests)}
    for key, (line, rest) in sorted(made.items()):
        found = given.get(key)
        if found is None:
            raise Failed(f"{_named(line)} follows from the bundle's facts but is not in the "
                         "bundle")
        if found.line != line:
            raise Failed(f"{_named(line)}: {_difference(found.line, line)}")
        if found.rests_on != rest:
            raise Failed(f"{_named(line)} says it rests on {', '.join(found.rests_on)}; it rests "
                         f"on {', '.join(rest)}")
    for key, x in sorted(given.items()):
        if key not in made:
            raise Failed(f"{_named(x.line)} does not follow from the bundle's facts")
    if len(given) != len(bundle.lines):
        raise Failed("the bundle gives a line twice")
    if sl.lines_hash(x.line for x in bundle.lines) != bundle.lines_hash:
        raise Failed(f"the lines' sha256 is not the bundle's lines_hash {bundle.lines_hash}")
    if built.restatement is not None and built.restatement.to_dict() != bundle.restatement:
        raise Failed("the restatement does not follow from the bundle's facts: "
                     + _first_change(bundle.restatement, built.restatement.to_dict()))
    if built.restatement is None and bundle.restatement is not None:
        raise Failed("the bundle carries a restatement for a statement that is not one")


def _difference(given: sl.StatementLine, made: sl.StatementLine) -> str:
    ours, theirs = dict(made.values), dict(given.values)
    for name in sorted(set(ours) | set(theirs)):
        if ours.get(name) != theirs.get(name):
            return (f"{name} is {theirs.get(name)!r} in the bundle, the facts give "
                    f"{ours.get(name)!r}")
    return "differs"


def _first_change(given: Any, made: dict[str, Any]) -> str:
    if not isinstance(given, dict):
        return "the bundle carries none"
    for name in sorted(set(given) | set(made)):
        if given.get(name) != made.get(name):
            return f"its {name} differs"
    return "it differs"


def check_support(bundle: Bundle, spec: Spec, built: Built,
                  patients: Mapping[str, PatientRow], log: BundleLog) -> None:
    """The bundle holds every fact its statement rests on that is not withheld, and nothing
    else: no fact of another tenant, none recorded after the position it is known at."""
    if bundle.rests_on != spec.streams():
        raise Failed(f"the statement says it rests on {', '.join(bundle.rests_on)}; it rests on "
                     f"{', '.join(spec.streams())}")
    whole = {stream for rests in support(built, patients) for stream in rests}
    hidden_streams = {s for s, _ in bundle.withheld}
    for stream in sorted(whole - {spec.book}):  # a scope's book may hold nothing yet
        if stream not in log.streams and stream not in hidden_streams:
            raise Failed(f"the statement rests on {stream}, of which the bundle holds no fact")
    for stream, facts in sorted(log.streams.items()):
        for s in facts:
            ref = f"{stream}@{s.fact.version}"
            if stream not in whole:
                raise Failed(f"the fact at position {s.fact.position} ({ref}) is not one the "
                             "statement rests on: a bundle holds only those")
            if s.fact.position > spec.position and stream != spec.book:
                raise Failed(f"the fact at position {s.fact.position} ({ref}) was recorded after "
                             f"the position the statement is known at ({spec.position})")


def check_issued(bundle: Bundle, spec: Spec, log: BundleLog) -> str:
    """The statement is the one the ledger issued under its number: the StatementIssued fact
    (proved in the log with the others) records its scope, period, position and lines' hash."""
    found = [s.fact for s in log.streams.get(spec.book or "", ())
             if s.fact.type == "StatementIssued" and s.fact.data.get("number") == spec.number]
    if not found:
        raise Failed(f"the bundle does not hold the fact that issued {spec.number}")
    fact = found[0]
    data = fact.data
    expected: dict[str, Any] = {
        "statement": spec.kind.value, "party": spec.scope.party, "period": spec.label,
        "position": spec.since if spec.since is not None else spec.position}
    if spec.since is None:
        expected |= {"lines_hash": bundle.lines_hash, "line_count": len(bundle.lines)}
    for name, value in expected.items():
        if data.get(name) != value:
            raise Failed(f"{spec.number} was issued with {name} {data.get(name)!r} (the fact at "
                         f"position {fact.position}); the bundle says {value!r}")
    if spec.since is not None:
        return (f"{spec.number} is the statement the ledger issued at position "
                f"{fact.position}, as known at position {spec.since}")
    return (f"{spec.number}: these are the lines the ledger issued at position {fact.position}, "
            f"sha256 {bundle.lines_hash}, as known at position {spec.position}")
