"""Statement bundles' figures (ADR 0023, issue 14): a partner's quarterly company statement as a
bundle, on the full ledger.

- Build: the partner with the most patients and the last whole quarter of the history, as
  known at a head signed now; built as `impress-ledger statement bundle` builds it (the
  statement from the read models, the facts its lines rest on, one multiproof of them all),
  the partner's tenancy applied, written as JSON; timed in process, end to end.
- Verify: `impress-verify bundle FILE --keys KEY` in a process of its own, as a partner runs
  it: Python starting, imports, reading the JSON, every proof, the statement built again from
  the facts; wall clock of the whole command. It must say OK (exit 0).
"""

from __future__ import annotations

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
            spec = bundles.asked_spec(ledger, StatementKind.COMPANY, Scope.company(company),
                                      label=quarter.label)
            made = bundles.make(ledger, View(reader, ledger.workspace()), spec, sources, books)
            text = made.to_json()
            builds.append(time.perf_counter() - started)
    out: dict[str, Any] = {"company": company, "period": quarter.label,
                           "lines": len(made.lines), "facts": len(made.facts),
                           "multiproof_nodes": len(made.multiproof),
                           "withheld": sum(len(v) for _, v in made.withheld),
                           "bytes": len(text.encode()), "build_ms": percentiles(builds)}
    out["verify_ms"] = verified(text, key, repeat)
    return out


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
