"""A big generated history, and the who-pays projection checked against it.

    python -m bench.loadtest --url sqlite:////tmp/load.db --events 100000
    scripts/with-postgres sh -c '.venv/bin/python -m bench.loadtest \\
        --url "$IMPRESS_TEST_POSTGRES_URL" --events 100000'

Generates (in a child process, so the figures below are the projection's own) the first
`--events` facts, or a batch more, of a `bench.generate` history (the one `make bench` plays,
sized so that it is longer than that): the partner companies, their agreements, drugs and
cohorts, and patients enrolled, started, dispensed to, transferred, assessed (some late),
ended, corrected; grants invoiced and paid; group exemptions granted late and revoked,
permanent financing decided, agreements amended; the ledger's quarterly `tick`. The steps are
played as `make bench` imports them (`bench.ingest.bulk`: whole days per
`Ledger.record`), so every fact is decided by the real ledger, and a live projector
follows the log after every batch (a fresh one now and then, as a restarted process). Then it
times `verify` (a full replay into a scratch copy, compared with the live model) and
`rebuild`, checks both find no difference, and prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench.child import peak_rss_mib
from bench.generate import SEED, Size, steps
from bench.ingest import MIGRATION, Clock, bulk
from bench.world import START
from application.ledger import Ledger
from projections.maintenance import rebuild, verify
from projections.projector import Projector
from projections.store import Database
from projections.whopays import WhoPaysView

PATIENTS_PER_FACT = 1 / 10  # bench.generate's whole lives are about 15 facts a patient


def size_for(events: int) -> Size:
    """A `bench.generate` size whose whole history is about half again as long as `events`
    facts (patients arriving over five years, as in sizes S and M), so that its first
    `events` facts span years of the trial, not the first weeks of a bigger one."""
    return Size(f"loadtest-{events}", max(300, round(events * PATIENTS_PER_FACT)), 1826, 365)


def play(ledger: Ledger, events: int, *, seed: int = SEED, batch: int = 1000,
         after_batch: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Append the first `events` facts (or a batch more) of `size_for(events)`'s history to
    an empty log, as `make bench` imports it; `after_batch` runs after each batch."""
    if ledger.log.head():
        raise ValueError("the log is not empty")
    clock = Clock(START)
    ledger.clock = clock
    ledger.install_reference(MIGRATION, START)
    reached = [False]

    def flushed(_: object) -> None:
        after_batch()
        reached[0] = ledger.log.head() >= events

    def until_reached() -> Iterator[Any]:
        for step in steps(size_for(events), seed):
            if reached[0]:
                return
            yield step

    tally = bulk(ledger, clock, until_reached(), batch=batch, progress=flushed)
    return {"events": ledger.log.head(), "commands": tally.commands, "ticks": tally.ticks,
            "refusals": len(tally.refused), "refusals_first": tally.refused[:5],
            "simulated_days": (clock.today - START).days, "size": size_for(events).name,
            "seed": seed}


def generate(url: str, events: int, *, seed: int = SEED,
             fresh_projector_every: int = 20) -> dict[str, Any]:
    """Append `play`'s history of about `events` facts to an empty log at `url`, with the live
    who-pays tables following (a fresh projector now and then, as a restarted process)."""
    ledger = Ledger.open(url)
    db = Database(url)
    try:
        projectors = [Projector(ledger.log, db)]
        projectors[0].create_tables()
        batches = [0]

        def follow() -> None:
            batches[0] += 1
            if batches[0] % fresh_projector_every == 0:
                projectors[0] = Projector(ledger.log, db)
            projectors[0].catch_up()

        figures = play(ledger, events, seed=seed, after_batch=follow)
        projectors[0].catch_up()  # the quarterly ticks are appended outside a batch
        return figures
    finally:
        db.close()
        ledger.close()


def project(url: str) -> dict[str, Any]:
    ledger = Ledger.open(url, create_tables=False)
    try:
        events = ledger.log.head()
        with WhoPaysView(url) as view:
            live_position = view.position()
        started, cpu = time.perf_counter(), time.process_time()
        differences = verify(ledger, url)
        verify_seconds, verify_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        position = rebuild(ledger, url)
        rebuild_seconds, rebuild_cpu = time.perf_counter() - started, time.process_time() - cpu
        after = verify(ledger, url)
        return {
            "database": "sqlite" if url.startswith("sqlite") else "postgres",
            "events": events,
            "live_position": live_position,
            "verify_seconds": round(verify_seconds, 2),
            "verify_events_per_second": round(events / verify_seconds),
            "verify_cpu_seconds": round(verify_cpu, 2),
            "differences_live_vs_replay": len(differences),
            "rebuild_seconds": round(rebuild_seconds, 2),
            "rebuild_events_per_second": round(events / rebuild_seconds),
            "rebuild_cpu_seconds": round(rebuild_cpu, 2),
            "rebuilt_position": position,
            "differences_after_rebuild": len(after),
            "peak_rss_mb": peak_rss_mib(),
        }
    finally:
        ledger.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the ledger's database URL")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=SEED,
                        help="bench.generate's seed")
    parser.add_argument("--phase", choices=("all", "generate", "project"), default="all")
    args = parser.parse_args(argv)
    if args.phase == "generate":
        print(json.dumps(generate(args.url, args.events, seed=args.seed)), flush=True)
        return 0
    if args.phase == "all":
        child = subprocess.run(
            [sys.executable, "-m", "bench.loadtest", "--phase", "generate", "--url",
             args.url, "--events", str(args.events), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True)
        print(child.stdout.strip().splitlines()[-1], flush=True)
    figures = project(args.url)
    print(json.dumps(figures), flush=True)
    ok = figures["differences_live_vs_replay"] == 0 and figures["differences_after_rebuild"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
