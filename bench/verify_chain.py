"""How fast `verify` recomputes the hash chain: on the demo history and on a generated log of
N facts (the first N of a bench.generate history, played as bench.loadtest plays it but with
no read model), on SQLite and, if a server is given, PostgreSQL. Prints one JSON line per run;
asserts nothing about time.

    scripts/with-postgres .venv/bin/python -m bench.verify_chain --events 100000

Without --url it uses a temporary SQLite file and, if IMPRESS_TEST_POSTGRES_URL is set (as
scripts/with-postgres does), a fresh database on that server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

from domain import chain
from application.ledger import Ledger
from audit.verify import verify
from bench.generate import SEED
from bench.loadtest import play


def generate(ledger: Ledger, events: int, seed: int = SEED, batch: int = 1000) -> int:
    """Append the first `events` facts (or a batch more) of a bench.generate history, as
    bench.loadtest does but with no read model following: only the log is measured."""
    return play(ledger, events, seed=seed, batch=batch)["events"]


def measure(url: str, history: str, events: int) -> dict[str, Any]:
    ledger = Ledger.open(url)
    try:
        if ledger.log.head():
            raise ValueError(f"the log at {url} is not empty")
        started = time.perf_counter()
        if history == "demo":
            from application.demo import load_demo

            load_demo(ledger)
        else:
            generate(ledger, events)
        written = time.perf_counter() - started
        head = ledger.log.head()
        result = verify(ledger.log)
        hashing = _hashing_only(ledger)
        return {
            "database": "sqlite" if url.startswith("sqlite") else "postgres",
            "history": history, "events": head, "ok": result.ok,
            "verify_seconds": round(result.seconds, 2),
            "verify_events_per_second": round(head / result.seconds),
            "hashing_only_events_per_second": round(head / hashing),
            "append_seconds": round(written, 1),
        }
    finally:
        ledger.close()


def _hashing_only(ledger: Ledger) -> float:
    """The canonical form and SHA-256 alone, over facts already read: the chain's share."""
    facts = list(ledger.log.read(batch=5000))
    started = time.perf_counter()
    head = chain.GENESIS
    for f in facts:
        head = chain.link(head, f.position, f.recorded_at, f)
    return max(time.perf_counter() - started, 1e-9)


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    import psycopg

    name = f"impress_bench_{uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args(argv)
    targets = [fresh_sqlite]
    server = os.environ.get("IMPRESS_TEST_POSTGRES_URL", "").strip()
    if server:
        targets.append(lambda: fresh_postgres(server))
    ok = True
    for fresh in targets:
        for history in ([] if args.skip_demo else ["demo"]) + ["generated"]:
            with fresh() as url:
                figures = measure(url, history, args.events)
            ok = ok and figures["ok"]
            print(json.dumps(figures | {"on": date.today().isoformat()}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
