"""Phases run in a child process of their own, so their peak memory is their own.

    python -m bench.child rebuild URL     # every read model rebuilt from the log
    python -m bench.child raw-read URL    # the baseline: the rows the projector reads, read
                                          # with plain psycopg / sqlite3, their JSON decoded
    python -m bench.child log-read URL    # for reference: the same rows through EventLog.read

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
from projections.partitioned import peak_rss_mib


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


WORKERS: list[Any] = []  # what a rebuild's worker processes used (partitioned.Usage)


def rebuild(url: str) -> int:
    """Every read model (projections.maintenance.rebuild, with its default number of worker
    processes): the facts of the log per second, also those of types the projector does not
    read."""
    from application.ledger import Ledger
    from projections.maintenance import rebuild as rebuild_models

    ledger = Ledger.open(url, create_tables=False)
    try:
        rebuild_models(ledger, url, usage=WORKERS)
        return ledger.log.head()
    finally:
        ledger.close()


def _topics() -> list[str]:
    from eventstore.facts import topic_of
    from projections.folds import types_read

    return [topic_of(t) for t in types_read()]


def raw_read(url: str) -> int:
    """The rows the projector reads (its fact types), their JSON decoded, and nothing else."""
    topics = _topics()
    conn = connect_raw(url)
    n = 0
    try:
        if url.startswith("sqlite"):
            rows = conn.execute(f"SELECT state FROM stored_events WHERE topic IN "
                                f"({', '.join('?' * len(topics))}) ORDER BY rowid", topics)
        else:
            rows = conn.cursor(name="bench_raw_read")
            rows.itersize = 5000
            rows.execute("SELECT state FROM impress_events WHERE topic = ANY(%s) "
                         "ORDER BY notification_id", (topics,))
        for (state,) in rows:
            json.loads(state)
            n += 1
        return n
    finally:
        conn.close()


def log_read(url: str) -> int:
    from eventstore import EventLog
    from projections.folds import types_read

    with EventLog(url, create_tables=False) as log:
        return sum(1 for _ in log.read(batch=5000, types=types_read()))


PHASES: dict[str, Callable[[str], int]] = {
    "rebuild": rebuild, "raw-read": raw_read, "log-read": log_read}


def main(argv: list[str]) -> int:
    phase, url = argv
    started, cpu = time.perf_counter(), time.process_time()
    children = _children_cpu()
    events = PHASES[phase](url)
    seconds = time.perf_counter() - started
    # Worker processes count: their CPU (waited for, so in RUSAGE_CHILDREN) and their peaks,
    # added to this process's (the sum of peaks: at least the peak of the sum).
    out: dict[str, Any] = {
        "events": events, "seconds": round(seconds, 3),
        "cpu_seconds": round(time.process_time() - cpu + _children_cpu() - children, 2),
        "events_per_second": round(events / seconds) if seconds else None,
        "peak_rss_mib": round(peak_rss_mib() + sum(w.peak_rss_mib for w in WORKERS), 1),
        "processes": 1 + len(WORKERS),
        "workers": [{"peak_rss_mib": w.peak_rss_mib, "cpu_seconds": w.cpu_seconds}
                    for w in WORKERS]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
