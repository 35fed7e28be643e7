"""Statement bundles (ADR 0023, docs/proofs.md section 8): a statement's lines, the facts they rest
on (those the requester may see whole; the others are named as withheld), one multiproof of
all of them to the latest signed tree head, and consistency proofs from the heads the requester
archived. `impress-verify bundle` checks it offline and builds the statement again from the
facts alone.

Which statement: one issued under a number (as it was issued), its restatement since then, a
period's statement as the books keep it, or a span of dates; all as known at a position no later
than the latest signed head (by default, that head's size), so that every fact is provable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from application.access import View
from application.ledger import Ledger
from audit import heads as signed_heads
from audit import proofs
from domain import chain
from domain import statement_lines as sl
from domain.books import StatementKind
from domain.periods import StatementPeriod
from domain.statements.adjustments import PatientSources
from domain.statements.bundled import Built, Spec, build, rests_on, support
from domain.statements.period import Period
from domain.statements.periods import Books, book_key
from domain.statements.public import By
from domain.statements.scope import Scope
from eventstore import StoredFact
from proofs import collector
from proofs.bundle import Bundle, BundleLine, Earlier, Entry
from reports import bookkeeping
from reports.books import Books as LedgerBooks
from reports.readmodels import ReadModelSources


class NoSignedHead(ValueError):
    """The ledger has signed no tree head yet: nothing can be proved."""


class NotYetSigned(ValueError):
    """The statement rests on facts recorded after the latest signed head."""


class UnknownEarlier(ValueError):
    """`earlier` names no head the ledger signed, or one after the statement's position."""


class NotWhole(ValueError):
    """The statement names patients or companies the requester may not see: its lines cannot
    be given whole, and a bundle without them proves nothing."""


@dataclass(frozen=True)
class Signed:
    head: signed_heads.RecordedHead

    @property
    def size(self) -> int:
        return self.head.signed.head.tree_size


def latest(ledger: Ledger) -> Signed:
    found = signed_heads.latest(ledger.log)
    if found is None:
        raise NoSignedHead("the ledger has signed no tree head yet: a bundle proves its facts "
                           "against one (impress-ledger audit head)")
    return Signed(found)


def _position(signed: Signed, at: int | None) -> int:
    if at is None:
        return signed.size
    if at > signed.size:
        raise NotYetSigned(f"position {at} lies beyond the latest signed head ({signed.size} "
                           "facts): ask again after the next head")
    return at


def issued_spec(ledger: Ledger, books: LedgerBooks, number: str, *, restated: bool = False,
                at: int | None = None) -> tuple[Spec, int]:
    """The issued statement `number` (or, `restated`, its restatement as known at `at`), and
    the position of the fact that issued it."""
    signed = latest(ledger)
    key, fact = bookkeeping.book_of(books, number, ledger.position())
    version = int(fact.ref.rpartition("@")[2])
    issued_at = next(f.position for f in ledger.log.stream(key.stream) if f.version == version)
    if issued_at > signed.size:
        raise NotYetSigned(f"{fact.number} was issued at position {issued_at}, after the latest "
                           f"signed head ({signed.size} facts): ask again after the next head")
    spec = Spec(key.statement, books.scope_of(key), Period(fact.start, fact.end), fact.position,
                fact.period, By.MONTH, fact.number)
    if restated:
        spec = Spec(spec.kind, spec.scope, spec.period, _position(signed, at), fact.period,
                    By.MONTH, fact.number, since=fact.position)
    return spec, issued_at


def asked_spec(ledger: Ledger, kind: StatementKind, scope: Scope, *, label: str | None = None,
               period: Period | None = None, by: By = By.MONTH,
               at: int | None = None) -> Spec:
    """A period's statement as the books keep it (`label`), or a span of dates (`period`)."""
    position = _position(latest(ledger), at)
    if label is not None:
        found = StatementPeriod.parse(label)
        return Spec(kind, scope, Period(found.start, found.end), position, found.label, By.MONTH)
    assert period is not None
    return Spec(kind, scope, period, position, None, by)


def make(ledger: Ledger, view: View, spec: Spec, sources: PatientSources, books: Books, *,
         issued_at: int | None = None, archived: Sequence[int] = (),
         earlier: int | None = None) -> Bundle:
    """The bundle of the statement `spec` for the actor `view` judges for; with `earlier`, one
    that rests on the bundle the reader verified as known at that head's size
    (impress-bundle-v3, ADR 0031)."""
    with collector.paused():
        signed = latest(ledger)
        before = None if earlier is None else _earlier_head(ledger, spec, earlier)
        return _make(ledger, view, spec, sources, books, issued_at, archived, signed, before)


def _earlier_head(ledger: Ledger, spec: Spec, earlier: int) -> signed_heads.RecordedHead:
    if earlier > spec.position:
        raise UnknownEarlier(f"earlier={earlier} lies after the position the statement is "
                             f"known at ({spec.position}): a bundle rests only on one known "
                             "before it")
    found = signed_heads.of_size(signed_heads.recorded_heads(ledger.log), earlier)
    if found is None:
        raise UnknownEarlier(f"the ledger signed no head of {earlier} facts: earlier= is the "
                             "known_at of a bundle you verified, made as known at a signed "
                             "head (GET /v1/proofs/heads lists them)")
    return found


def _make(ledger: Ledger, view: View, spec: Spec, sources: PatientSources, books: Books,
          issued_at: int | None, archived: Sequence[int], signed: Signed,
          before: signed_heads.RecordedHead | None) -> Bundle:
    built = build(spec, sources, books)
    rows = {p.patient_id: p for p in sources.at(spec.position).patients(sorted(built.patients))}
    facts = _facts(ledger, spec, support(built, rows), issued_at)
    if isinstance(sources, ReadModelSources):  # judged in SQL, not by folding each patient
        view.judged(sources.visible(view.actor, _patients_named(facts) | built.patients))
    _whole(view, built)
    shown = proofs.visible_facts(view, facts)
    given, earlier = shown, None
    if before is not None:
        given, earlier = _resting(ledger, shown, before, signed.size)
    salts, nodes = proofs.multiproof(ledger.log, [f.position for f in given], signed.size)
    canonical = built.canonical()
    return Bundle(
        head=signed.head.signed,
        facts=tuple(Entry(f.position - 1, _canonical(f), salts[f.position]) for f in given),
        multiproof=nodes,
        statement=spec.to_dict(), rests_on=spec.streams(),
        lines=tuple(BundleLine(line, rests_on(x, rows))
                    for line, x in zip(canonical, built.lines)),
        lines_hash=sl.lines_hash(canonical),
        restatement=built.restatement.to_dict() if built.restatement else None,
        withheld=_withheld(facts, shown),
        consistency=tuple(proofs.consistency(ledger.log, m, signed.size) for m in archived
                          if m != signed.size),
        moments=_moments(ledger, spec, built, books, {f.position for f in shown}),
        earlier=earlier)


def _resting(ledger: Ledger, shown: list[StoredFact], before: signed_heads.RecordedHead,
             size: int) -> tuple[list[StoredFact], Earlier]:
    """The facts without those, up to the earlier head, of the agreement streams the statement
    rests on (nine in ten at M: each slot used since the agreement began), and what names them:
    the reader's store holds them from the earlier bundle, which held them whole (every
    agreement line rests on its agreement's stream)."""
    first = before.signed.head.tree_size

    def left_out(f: StoredFact) -> bool:
        return f.position <= first and f.stream.startswith("agreement/")

    streams = tuple(sorted({f.stream for f in shown if left_out(f)}))
    return ([f for f in shown if not left_out(f)],
            Earlier(first, before.signed, streams, proofs.consistency(ledger.log, first, size)))


def _patients_named(facts: Sequence[StoredFact]) -> set[str]:
    """The patients whose sight a fact's tenancy check asks for: its stream's and the one it
    names."""
    out = set()
    for f in facts:
        kind, _, identifier = f.stream.partition("/")
        if kind == "patient":
            out.add(identifier)
        if isinstance(named := f.data.get("patient_id"), str):
            out.add(named)
    return out


def _whole(view: View, built: Built) -> None:
    said: list[Any] = [x.to_json() for x in built.canonical()]
    if built.restatement is not None:
        said.append(built.restatement.to_dict())
    if any(view.scrub(x) != x for x in said):
        raise NotWhole("the statement names patients or companies you may not see: its bundle "
                       "cannot be given whole")


def _facts(ledger: Ledger, spec: Spec, rests: Sequence[Sequence[str]],
           issued_at: int | None) -> list[StoredFact]:
    """Every fact of the streams the statement rests on, up to its position (its book up to
    the fact that issued it): one query for all of them, the book apart if it is read further."""
    streams = {x for r in rests for x in r}
    if issued_at is None or spec.book not in streams:
        return ledger.log.facts_of(streams, up_to=spec.position)
    found = [*ledger.log.facts_of(streams - {spec.book}, up_to=spec.position),
             *ledger.log.stream(spec.book, up_to=issued_at)]
    return sorted(found, key=lambda f: f.position)


def _canonical(fact: StoredFact) -> dict[str, Any]:
    return chain.canonical_object(fact.position, fact.recorded_at, fact)


def _withheld(facts: Sequence[StoredFact], shown: Sequence[StoredFact]
              ) -> tuple[tuple[str, tuple[int, ...]], ...]:
    kept = {f.position for f in shown}
    hidden: dict[str, list[int]] = {}
    for f in facts:
        if f.position not in kept:
            hidden.setdefault(f.stream, []).append(f.version)
    return tuple((s, tuple(v)) for s, v in sorted(hidden.items()))


def _moments(ledger: Ledger, spec: Spec, built: Built, books: Books,
             held: set[int]) -> tuple[tuple[int, str], ...]:
    """The recorded time of the positions a restatement or adjustments compare from, where the
    fact there is not in the bundle (only 'late' or 'new' depends on it)."""
    wanted: set[int] = set()
    if spec.since is not None:
        wanted |= {spec.since, spec.position}
    elif any(x.section == "adjustment" for x in built.lines):
        last = books.at(book_key(spec.kind, spec.scope), spec.position).last_closed
        if last is not None:
            wanted.add(last.booked_position)
    out = []
    for position in sorted(wanted - held):
        fact = ledger.log.fact_at(position) if position > 0 else None
        if fact is not None:
            out.append((position, fact.recorded_at.isoformat()))
    return tuple(out)
