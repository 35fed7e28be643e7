"""A big generated history, and the who-pays projection checked against it.

    python -m bench.loadtest --url sqlite:////tmp/load.db --events 100000
    scripts/with-postgres sh -c '.venv/bin/python -m bench.loadtest \\
        --url "$IMPRESS_TEST_POSTGRES_URL" --events 100000'

Generates (in a child process, so the figures below are the projection's own) a deterministic
history of at least `--events` facts: patients enrolled, started, dispensed to, transferred,
assessed (some late), ended, corrected; grants invoiced and paid; group exemptions granted and
revoked, permanent financing decided, an agreement amended. Every fact is decided by the real
`domain.decide.execute`, so the history is one the ledger could have recorded; it is written
straight to the EventLog in batches, and a live projector follows it as it grows. Then it
times `verify` (a full replay into a scratch copy, compared with the live model) and
`rebuild`, checks both find no difference, and prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

from domain.application import Ledger
from bench.loadtest_history import generate
from projections.maintenance import rebuild, verify
from projections.whopays import WhoPaysView


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_seconds() -> float:
    """This process's CPU time: a figure a busy machine does not inflate as it does the
    wall clock (the database server's own time is not in it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def project(url: str) -> dict[str, Any]:
    ledger = Ledger.open(url, create_tables=False)
    try:
        events = ledger.log.head()
        with WhoPaysView(url) as view:
            live_position = view.position()
        started, cpu = time.perf_counter(), _cpu_seconds()
        differences = verify(ledger, url)
        verify_seconds, verify_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        started, cpu = time.perf_counter(), _cpu_seconds()
        position = rebuild(ledger, url)
        rebuild_seconds, rebuild_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
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
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
    finally:
        ledger.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the ledger's database URL")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20250101)
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
