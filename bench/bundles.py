"""Statement bundles' figures (ADR 0023, issue 14): a partner's quarterly company statement as a
bundle, on the full ledger.

- Build: the partner with the most patients and the last whole quarter of the history, as
  known at a head signed now; built as `impress-ledger statement bundle` builds it (the
  statement from the read models, the facts its lines rest on, one multiproof of them all),
  the partner's tenancy applied, written as JSON; timed in process, end to end.
- Verify: `impress-verify bundle FILE --keys KEY` in a process of its own, as a partner runs
  it: Python starting, imports, reading the JSON, every proof, the statement built again from
  the facts; wall clock of the whole command. It must say OK (exit 0).
- Resting (ADR 0031, `resting`): the same quarter as a bundle resting on the previous quarter's
  (impress-bundle-v3, `earlier=K`). The previous quarter's bundle, as known at the head K, is
  verified into a store (`impress-verify bundle --store`, timed once: `store_fill_ms`); the
  resting bundle is built as the full one is, and verified with a fresh copy of that store
  each time (`impress-verify bundle FILE --store COPY`, whole command). The history is already
  loaded, so K is signed now and every slot used lies before it: a partner a quarter later also
  receives that quarter's slot uses, counted in `slot_uses_after_previous_quarter` (facts left
  out here whose valid date lies after the previous quarter: a real quarter's bundle would
  hold them, a few per cent more facts).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.access import PARTNER, View
from application.ledger import Ledger
from audit import bundles, heads
from bench.ingest import MIGRATION, percentiles
from domain.books import StatementKind
from domain.periods import StatementPeriod
from domain.statements.scope import Scope
from domain.values import Actor
from projections.whopays import WhoPaysView, catch_up
from proofs.bundle import Bundle
from proofs.keys import SigningKey
from reports.books import Books
from reports.readmodels import ReadModelSources

VERIFY = Path(sys.executable).with_name("impress-verify")


def last_quarter(last_day: date) -> StatementPeriod:
    """The last quarter that ended before `last_day`."""
    day = last_day
    while True:
        quarter = StatementPeriod.parse(f"{day.year}Q{(day.month - 1) // 3 + 1}")
        if quarter.end < last_day:
            return quarter
        day = quarter.start - timedelta(days=1)


def busiest(models: WhoPaysView) -> str:
    counts: dict[str, int] = {}
    for p in models.patients():
        counts[p.company_id] = counts.get(p.company_id, 0) + 1
    return max(counts, key=lambda c: (counts[c], c))


def bundle_figures(url: str, last_day: date, repeat: int = 3) -> dict[str, Any]:
    key = SigningKey(Ed25519PrivateKey.generate())
    with closing(Ledger.open(url, create_tables=False)) as ledger, \
            closing(WhoPaysView(url, create=False)) as models:
        heads.sign(ledger, key, MIGRATION)
        catch_up(ledger, models)  # the head's own fact too: the statement is as known at it
        company, quarter = busiest(models), last_quarter(last_day)
        reader = Actor(subject="bench:partner", role=PARTNER, organisation=company)
        sources, books = ReadModelSources(models, ledger.log), Books(ledger)
        builds: list[float] = []
        text = ""
        for _ in range(repeat):
            started = time.perf_counter()
            made = _made(ledger, sources, books, reader, company, quarter, None)
            text = made.to_json()
            builds.append(time.perf_counter() - started)
    out: dict[str, Any] = {"company": company, "period": quarter.label,
                           "lines": len(made.lines), "facts": len(made.facts),
                           "multiproof_nodes": len(made.multiproof),
                           "withheld": sum(len(v) for _, v in made.withheld),
                           "bytes": len(text.encode()), "build_ms": percentiles(builds)}
    out["verify_ms"] = verified(text, key, repeat)
    out["resting"] = resting_figures(url, key, company, quarter, repeat)
    return out


def resting_figures(url: str, key: SigningKey, company: str, quarter: StatementPeriod,
                    repeat: int) -> dict[str, Any]:
    """The quarter resting on the previous one's bundle, kept in the partner's store."""
    previous = last_quarter(quarter.start)
    reader = Actor(subject="bench:partner", role=PARTNER, organisation=company)
    with closing(Ledger.open(url, create_tables=False)) as ledger, \
            closing(WhoPaysView(url, create=False)) as models, \
            tempfile.TemporaryDirectory() as work:
        sources, books = ReadModelSources(models, ledger.log), Books(ledger)
        earlier = bundles.latest(ledger).size  # signed by bundle_figures
        kept = Path(work) / "previous.json"
        before = _made(ledger, sources, books, reader, company, previous, None)
        kept.write_text(before.to_json(), encoding="utf-8")
        store, pub = Path(work) / "store.db", _public(key, work)
        started = time.perf_counter()
        _verify(kept, pub, store)
        fill = time.perf_counter() - started
        heads.sign(ledger, key, MIGRATION)
        catch_up(ledger, models)
        builds: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            made = _made(ledger, sources, books, reader, company, quarter, earlier)
            text = made.to_json()
            builds.append(time.perf_counter() - started)
        path = Path(work) / "resting.json"
        path.write_text(text, encoding="utf-8")
        walls = []
        for i in range(repeat):
            copy = shutil.copyfile(store, Path(work) / f"store-{i}.db")
            started = time.perf_counter()
            _verify(path, pub, copy)
            walls.append(time.perf_counter() - started)
        left_out, stored = _after(ledger, made, previous), store.stat().st_size
    return {"previous": previous.label, "previous_facts": len(before.facts), "earlier": earlier,
            "facts": len(made.facts),
            "multiproof_nodes": len(made.multiproof), "bytes": len(text.encode()),
            "store_bytes": stored, "slot_uses_after_previous_quarter": left_out,
            "store_fill_ms": round(fill * 1000, 3), "build_ms": percentiles(builds),
            "verify_ms": percentiles(walls)}


def _made(ledger: Ledger, sources: ReadModelSources, books: Books, reader: Actor, company: str,
          quarter: StatementPeriod, earlier: int | None) -> Bundle:
    spec = bundles.asked_spec(ledger, StatementKind.COMPANY, Scope.company(company),
                              label=quarter.label)
    return bundles.make(ledger, View(reader, ledger.workspace()), spec, sources, books,
                        earlier=earlier)


def _after(ledger: Ledger, made: Bundle, previous: StatementPeriod) -> int:
    """Slots used dated after the previous quarter among the facts the bundle left out."""
    if made.earlier is None:
        return 0
    return sum(1 for f in ledger.log.facts_of(set(made.earlier.streams),
                                              up_to=made.earlier.known_at)
               if f.valid_on is not None and f.valid_on > previous.end)


def _public(key: SigningKey, work: str) -> Path:
    pub = Path(work) / "key.pem"
    pub.write_text(key.public_pem(), encoding="utf-8")
    return pub


def _verify(path: Path, pub: Path, store: Path) -> None:
    done = subprocess.run([str(VERIFY), "bundle", str(path), "--keys", str(pub), "--store",
                           str(store)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"impress-verify refused the bundle: {done.stderr.strip()}")


def verified(text: str, key: SigningKey, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work:
        path, pub = Path(work) / "bundle.json", Path(work) / "key.pem"
        path.write_text(text, encoding="utf-8")
        pub.write_text(key.public_pem(), encoding="utf-8")
        walls = []
        for _ in range(repeat):
            started = time.perf_counter()
            done = subprocess.run([str(VERIFY), "bundle", str(path), "--keys", str(pub)],
                                  capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise RuntimeError(f"impress-verify refused the bundle: {done.stderr.strip()}")
    return percentiles(walls)
