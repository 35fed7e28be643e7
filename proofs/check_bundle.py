"""`impress-verify bundle`: what a statement bundle proves, checked offline (docs/proofs.md
section 8, ADR 0023). In order: the head's signature; every fact's inclusion in the tree the head
signs; consistency with the heads the partner archived; each stream's facts without gaps; that
every fact is one the statement rests on; and the statement built again from the facts alone
with the ledger's own rules (domain.statements), line by line, its hash, and, for an issued
statement, the hash the ledger recorded when it issued it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from domain import errors as err
from domain import merkle
from domain import statement_lines as sl
from domain.statements.bundled import Built, Spec, build, rests_on
from domain.statements.replay import Replay
from domain.statements.scope import ScopeKind
from proofs.bundle import Bundle, Entry
from proofs.check import Failed, check_consistency, check_head
from proofs.check_earlier import earlier_facts, union
from proofs.check_statement import check_issued, check_lines, check_support
from proofs.documents import ConsistencyProof
from proofs.replayed import BundleBooks, BundleFact, BundleLog
from proofs.store import Store
from domain.tree import BadDocument, SignedHead


def check_bundle(bundle: Bundle, keys: Mapping[str, bytes], archived: Sequence[SignedHead] = (),
                 proofs: Sequence[ConsistencyProof] = (), store: Store | None = None
                 ) -> list[str]:
    """What the bundle proves, line by line; Failed or BadDocument if it does not. With a
    `store`, the facts a v3 bundle leaves out are taken from it, and an accepted bundle's facts
    and head are recorded in it (proofs.store)."""
    head = bundle.head.head
    lines = [check_head(bundle.head, keys, "the bundle's head")]
    check_multiproof(bundle.facts, bundle.multiproof, head.tree_size,
                     bytes.fromhex(head.root_hash))
    lines.append(f"{len(bundle.facts)} facts, each in that tree at its position, exactly as "
                 f"shown (every salt checked, one multiproof of {len(bundle.multiproof)} nodes)")
    if archived:
        lines += check_consistency(bundle.head, archived, [*bundle.consistency, *proofs],
                                   keys)[1:]
    entries = list(bundle.facts)
    if bundle.earlier is not None:
        taken, checked = earlier_facts(bundle, bundle.earlier, keys, store)
        entries = union(taken, bundle.facts)
        lines += checked
    spec = _spec(bundle)
    log = _log(entries, bundle.moments, date.fromisoformat(head.timestamp[:10]))
    check_streams(log, bundle.withheld)
    _check_region(spec, log)
    built = _built(spec, log)
    known = Replay(log).at(spec.position)
    patients = {p.patient_id: p for p in known.patients(sorted(built.patients))}
    unknown = sorted(built.patients - patients.keys())
    if unknown:
        raise Failed(f"the statement names {', '.join(unknown)}, of whom the bundle holds no "
                     "enrolment: the facts its lines rest on are missing")
    check_lines(bundle, built, [rests_on(x, patients) for x in built.lines])
    check_support(bundle, spec, built, patients, log)
    lines.append(_proven(spec, bundle, built))
    if spec.number is not None:
        lines.append(check_issued(bundle, spec, log))
    lines += _notes(bundle, log)
    if store is not None:
        added = store.record(bundle.head, entries, bundle.facts, log.streams, spec.position)
        lines.append(f"recorded in the store {store.path}: the head and {len(entries)} facts "
                     f"({added} new to it)")
    return lines


def check_multiproof(entries: Sequence[Entry], nodes: Sequence[str], size: int,
                     root: bytes) -> None:
    """Every fact is at its leaf of the tree the head signs: the facts' leaf hashes and the
    multiproof's nodes lead to the signed root (domain.merkle.multiproof_root, section 8.4)."""
    for entry in entries:
        if entry.fact["position"] != entry.position:
            raise Failed(f"the fact says it is at position {entry.fact['position']}, its entry "
                         f"is for position {entry.position}")
        if not 0 <= entry.leaf_index < size:
            raise Failed(f"position {entry.position} is not in the tree of {size} facts the "
                         "head signs")
    indices = [e.leaf_index for e in entries]
    if any(b <= a for a, b in zip(indices, indices[1:])):
        raise Failed("the bundle's facts are not in increasing position order, each once")
    if not entries:
        if nodes:
            raise Failed("a bundle without facts carries no multiproof")
        return
    try:
        found = merkle.multiproof_root(indices, size, [e.leaf_hash for e in entries],
                                       [bytes.fromhex(n) for n in nodes])
    except merkle.ProofError as e:
        raise Failed(f"the bundle's multiproof does not fit its facts: {e}") from None
    if found != root:
        raise Failed("the bundle's facts are not proved to be in the log: their leaves, salts "
                     "and the multiproof's nodes do not lead to the signed root")


def check_streams(log: BundleLog, withheld: Sequence[tuple[str, tuple[int, ...]]]) -> None:
    """Each stream's facts, with the versions withheld, are its first n facts, in log order."""
    hidden: dict[str, list[int]] = {}
    for name, numbers in withheld:
        hidden.setdefault(name, []).extend(numbers)
    for stream in sorted(set(log.streams) | set(hidden)):
        facts = log.streams.get(stream, [])
        versions = sorted([s.fact.version for s in facts] + hidden.get(stream, []))
        if versions != list(range(1, len(versions) + 1)):
            missing = sorted(set(range(1, max(versions) + 1)) - set(versions))
            raise Failed(f"the stream {stream} is not given whole up to its last fact shown: "
                         + (f"versions {', '.join(map(str, missing))} are missing"
                            if missing else "a version is given twice"))
        positions = [s.fact.position for s in facts]
        if positions != sorted(positions):
            raise Failed(f"the facts of {stream} are not in log order")


def _spec(bundle: Bundle) -> Spec:
    try:
        return Spec.from_dict(bundle.statement)
    except (KeyError, TypeError, ValueError, err.Refused) as e:
        raise BadDocument(f"the bundle's statement part is not one the ledger makes: {e}") \
            from None


def _log(entries: Sequence[Entry], moments: Sequence[tuple[int, str]], today: date
         ) -> BundleLog:
    try:
        facts = [BundleFact.of(e.fact) for e in entries]
        return BundleLog(facts, {p: datetime.fromisoformat(t) for p, t in moments}, today)
    except ValueError as e:
        raise Failed(f"a fact of the bundle cannot be read: {e}") from None


def _check_region(spec: Spec, log: BundleLog) -> None:
    """A health trust's public cost is judged by the trust's own RHF (as the registry says)."""
    if spec.scope.kind is not ScopeKind.HF:
        return
    trust = log.workspace(spec.position).registry().trusts.get(spec.scope.party or "")
    if trust is None or trust.rhf_id != spec.scope.region:
        raise Failed(f"the statement names {spec.scope.party} in {spec.scope.region}; the "
                     f"registry puts it in {trust.rhf_id if trust else 'no region'}")


def _built(spec: Spec, log: BundleLog) -> Built:
    try:
        return build(spec, Replay(log), BundleBooks(log))
    except err.Refused as e:
        raise Failed(f"the statement cannot be built from the bundle's facts: {e}") from None


def _proven(spec: Spec, bundle: Bundle, built: Built) -> str:
    what = {"company": "company obligations", "public-cost": "public cost"}[spec.kind.value]
    scope = spec.scope.party or "everything"
    period = spec.label or f"{spec.period.start}..{spec.period.end}"
    if built.restatement is not None:
        r = built.restatement
        return (f"the restatement of {spec.number or what} ({scope}, {period}) from position "
                f"{spec.since} to {spec.position}: {len(r.changes)} changed lines and the "
                f"{len(r.causes)} facts that changed them, recomputed from the bundle's facts "
                "with the ledger's rules")
    return (f"{what} of {scope}, {period}, as known at position {spec.position}: "
            f"{len(built.lines)} lines recomputed from the bundle's facts with the ledger's "
            f"rules, sha256 {sl.lines_hash(built.canonical())}")


def _notes(bundle: Bundle, log: BundleLog) -> list[str]:
    notes = []
    count = sum(len(v) for _, v in bundle.withheld)
    if count:
        streams = ", ".join(sorted({s for s, _ in bundle.withheld}))
        notes.append(f"NOTE {count} facts of {streams} are withheld from you (about others): "
                     "the figures were recomputed without them, and came out the same")
    used = sorted(p for p, _ in bundle.moments)
    if used:
        notes.append(f"NOTE the recorded time of position(s) {', '.join(map(str, used))} is "
                     "the ledger's word (those facts are not yours): it decides only whether a "
                     "change is called late or new")
    return notes
