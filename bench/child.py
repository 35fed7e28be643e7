"""Phases run in a child process of their own, so their peak memory is their own.

    python -m bench.child rebuild URL     # every projection rebuilt from the log
    python -m bench.child raw-read URL    # the baseline: every row read, its JSON decoded
    python -m bench.child log-read URL    # for reference: EventLog.read(), facts decoded

Prints one JSON object: events, seconds, events per second, CPU seconds, peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.dbs import connect_raw


def peak_rss_mib() -> float:
    """This process's own peak: VmHWM is reset by exec; ru_maxrss on Linux keeps the parent's
    peak across fork and exec, so it would report the runner's memory, not the phase's."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def rebuild(url: str) -> int:
    """Every persistent projection: today the who-pays read model (statements and worklists
    are computed from the log on demand and hold no tables)."""
    from application.ledger import Ledger
    from projections.maintenance import rebuild as rebuild_whopays

    ledger = Ledger.open(url, create_tables=False)
    try:
        rebuild_whopays(ledger, url)
        return ledger.log.head()
    finally:
        ledger.close()


def raw_read(url: str) -> int:
    conn = connect_raw(url)
    n = 0
    try:
        if url.startswith("sqlite"):
            rows = conn.execute("SELECT state FROM stored_events ORDER BY rowid")
        else:
            rows = conn.cursor(name="bench_raw_read")
            rows.itersize = 5000
            rows.execute("SELECT state FROM impress_events ORDER BY notification_id")
        for (state,) in rows:
            json.loads(state)
            n += 1
        return n
    finally:
        conn.close()


def log_read(url: str) -> int:
    from eventstore import EventLog

    with EventLog(url, create_tables=False) as log:
        return sum(1 for _ in log.read(batch=5000))


PHASES: dict[str, Callable[[str], int]] = {
    "rebuild": rebuild, "raw-read": raw_read, "log-read": log_read}


def main(argv: list[str]) -> int:
    phase, url = argv
    started, cpu = time.perf_counter(), time.process_time()
    events = PHASES[phase](url)
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {
        "events": events, "seconds": round(seconds, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "events_per_second": round(events / seconds) if seconds else None,
        "peak_rss_mib": peak_rss_mib()}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
