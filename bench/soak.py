"""Sustained load: a real server (`impress-ledger serve`, uvicorn) under mixed reads and writes
from 8 clients for a long while (`make soak`: 30 minutes unless SOAK_SECONDS says otherwise).

Each client walks its own patients through their lives (bench/clients.py) and, half of the
time, asks who pays, the timeline or the history of one of them, pausing `--pause` seconds
between requests. Recorded: the server's resident memory every 10 s, per minute the number of
requests, their 50th and 99th percentile and slowest latency (reads and writes apart), and
every error (any answer but 200 and 201, or none; a 409 is a conflict, retried, and counted
apart). The figures
go to bench/results/ and, with --docs, into docs/reliability.md between its soak markers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.clients import SETUP_ROLE, WRITE_ROLE, Call, Client, set_up
from bench.dbs import git_revision
from bench.latency import serving

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"
SAMPLE_EVERY = 10.0  # seconds between memory samples
# Patients each cache of the server holds (IMPRESS_CACHE_STREAMS): few, so that both are full
# within the first minutes and what grows after is what no bound holds (docs/reliability.md).
CACHE_STREAMS = 1000
TRACE_EVERY = 60  # seconds between --trace-memory reports


@dataclass
class Run:
    seconds: float
    clients: int
    pause: float
    database: str
    cache_streams: int
    started: str = ""
    revision: str = ""
    rss_mib: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, MiB)
    minutes: list[dict[str, Any]] = field(default_factory=list)
    head: int = 0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def minute_of(calls: list[Call], minute: int) -> dict[str, Any]:
    row: dict[str, Any] = {"minute": minute + 1}
    for kind in ("read", "write"):
        mine = [c for c in calls if c.kind == kind]
        ms = [c.seconds * 1000 for c in mine]
        row[kind] = {"n": len(mine), "p50_ms": round(percentile(ms, 0.50), 1),
                     "p99_ms": round(percentile(ms, 0.99), 1),
                     "max_ms": round(max(ms, default=0.0), 1)}
    row["errors"] = sum(c.status not in (200, 201, 409) for c in calls)
    # which: "read 404", "write 503", "write 0" (no answer)...
    row["error_kinds"] = dict(Counter(f"{c.kind} {c.status}" for c in calls
                                      if c.status not in (200, 201, 409)))
    row["conflicts"] = sum(c.status == 409 for c in calls)
    return row


def soak(url: str, seconds: float, *, clients: int = 8, pause: float = 0.05,
         cache_streams: int = CACHE_STREAMS, progress: bool = True,
         trace_memory: Path | None = None) -> Run:
    """`cache_streams`: the server's IMPRESS_CACHE_STREAMS. `trace_memory`: a directory where
    bench.tracemem writes what grows in the server (a diagnostic: tracing slows the server, so
    its figures are not the soak's)."""
    run = Run(seconds, clients, pause, "sqlite" if url.startswith("sqlite") else "postgresql",
              cache_streams, datetime.now(UTC).isoformat(timespec="seconds"), git_revision())
    workdir = Path(tempfile.mkdtemp(prefix="impress-soak-"))
    calls: list[Call] = []
    lock, stop = threading.Lock(), threading.Event()
    try:
        launcher = None if trace_memory is None else [
            sys.executable, "-m", "bench.tracemem", "--out", str(trace_memory.absolute()),
            "--every", str(TRACE_EVERY), "--baseline", str(TRACE_EVERY), "--"]
        with serving(url, workdir, launcher=launcher,
                     env={"IMPRESS_CACHE_STREAMS": str(cache_streams)}) as served:
            set_up(served.base, served.token(SETUP_ROLE), clients)
            token = served.token(WRITE_ROLE, subject="soak")

            def record(call: Call) -> None:
                with lock:
                    calls.append(call)

            def client(number: int) -> None:
                with httpx.Client(base_url=served.base, timeout=60) as http:
                    me = Client(number, http, token, read_share=0.5, seed=1)
                    while not stop.is_set():
                        try:
                            me.step(record, stop.is_set)
                        except RuntimeError as refused:  # recorded as an error already
                            print(f"soak: client {number} stops: {refused}", flush=True)
                            return
                        stop.wait(pause)

            threads = [threading.Thread(target=client, args=(n,), daemon=True)
                       for n in range(1, clients + 1)]
            began = time.monotonic()
            for t in threads:
                t.start()
            while (elapsed := time.monotonic() - began) < seconds:
                run.rss_mib.append((round(elapsed, 1), round(rss_mib(served.pid), 1)))
                if progress:
                    with lock:
                        done = len(calls)
                    print(f"soak: {elapsed:6.0f} s, {done} requests, server "
                          f"{run.rss_mib[-1][1]:.0f} MiB", flush=True)
                time.sleep(min(SAMPLE_EVERY, max(0.0, seconds - elapsed)))
            stop.set()
            for t in threads:
                t.join(120)
            run.rss_mib.append((round(time.monotonic() - began, 1),
                                round(rss_mib(served.pid), 1)))
            ready = httpx.get(f"{served.base}/ready", timeout=10).json()
            run.head = int(ready.get("head", 0))
        for m in range(int(seconds // 60) or 1):
            run.minutes.append(minute_of([c for c in calls
                                          if m * 60 <= c.started - began < (m + 1) * 60], m))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return run


def summary(run: Run) -> dict[str, Any]:
    mib = [m for _, m in run.rss_mib]
    settled = mib[len(mib) // 2:]  # the second half: after the caches have filled
    p99 = {k: [m[k]["p99_ms"] for m in run.minutes] for k in ("read", "write")}
    return {
        "requests": sum(m["read"]["n"] + m["write"]["n"] for m in run.minutes),
        "errors": sum(m["errors"] for m in run.minutes),
        "error_kinds": dict(sum((Counter(m.get("error_kinds", {})) for m in run.minutes),
                                Counter())),
        "conflicts": sum(m["conflicts"] for m in run.minutes),
        "rss_first_mib": mib[0], "rss_max_mib": max(mib), "rss_last_mib": mib[-1],
        "rss_second_half_growth_mib": round(settled[-1] - settled[0], 1),
        "p99_read_median_ms": round(statistics.median(p99["read"]), 1),
        "p99_read_worst_minute_ms": max(p99["read"]),
        "p99_write_median_ms": round(statistics.median(p99["write"]), 1),
        "p99_write_worst_minute_ms": max(p99["write"]),
    }


def markdown(run: Run) -> str:
    s = summary(run)
    kinds = ", ".join(f"{k}: {n}" for k, n in sorted(s["error_kinds"].items()))
    lines = [
        f"Run {run.started} at {run.revision}, {run.database}, {run.clients} clients, "
        f"{run.seconds / 60:.0f} minutes, {run.pause * 1000:.0f} ms between a client's "
        f"requests, caches of {run.cache_streams} patients (IMPRESS_CACHE_STREAMS), on a "
        f"shared 2-core machine; {s['requests']} requests, log head {run.head} at the end.",
        "",
        f"- errors (any answer but 200/201/409, or none): **{s['errors']}**"
        + (f" ({kinds})" if kinds else "") + f"; conflicts (409, retried): {s['conflicts']}",
        f"- server memory (RSS): {s['rss_first_mib']} MiB after start, {s['rss_max_mib']} MiB "
        f"at most, {s['rss_last_mib']} MiB at the end; over the second half "
        f"{s['rss_second_half_growth_mib']:+} MiB",
        f"- p99 per minute, reads: median {s['p99_read_median_ms']} ms, worst minute "
        f"{s['p99_read_worst_minute_ms']} ms; writes: median {s['p99_write_median_ms']} ms, "
        f"worst minute {s['p99_write_worst_minute_ms']} ms",
        "",
        "| minute | reads | read p50 ms | read p99 ms | writes | write p50 ms | write p99 ms "
        "| errors | RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in run.minutes:
        rss = [mib for t, mib in run.rss_mib if t <= m["minute"] * 60]
        lines.append(f"| {m['minute']} | {m['read']['n']} | {m['read']['p50_ms']} | "
                     f"{m['read']['p99_ms']} | {m['write']['n']} | {m['write']['p50_ms']} | "
                     f"{m['write']['p99_ms']} | {m['errors']} | {rss[-1] if rss else ''} |")
    return "\n".join(lines) + "\n"


def into_doc(text: str, doc: Path = DOC) -> None:
    current = doc.read_text(encoding="utf-8")
    head, _, rest = current.partition(BEGIN)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n{text}{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pause", type=float, default=0.05)
    parser.add_argument("--url", help="the ledger's database (default: a new SQLite file)")
    parser.add_argument("--docs", action="store_true", help="write the figures into "
                        "docs/reliability.md")
    parser.add_argument("--cache-streams", type=int, default=CACHE_STREAMS,
                        help="the server's IMPRESS_CACHE_STREAMS (default %(default)s)")
    parser.add_argument("--trace-memory", type=Path, metavar="DIR", help="trace the server's "
                        f"allocations, and write what grew every {TRACE_EVERY} s into DIR "
                        "(bench.tracemem; slows the server)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="impress-soak-db-"))
    try:
        run = soak(args.url or f"sqlite:///{scratch}/ledger.db", args.seconds,
                   clients=args.clients, pause=args.pause, cache_streams=args.cache_streams,
                   trace_memory=args.trace_memory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # A traced run's figures are not the soak's: they stay with the trace.
    out = (args.trace_memory or RESULTS) / f"soak-{run.database}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**run.__dict__, "summary": summary(run)}, indent=2) + "\n")
    text = markdown(run)
    print(text)
    print(f"figures: {out}")
    if args.docs and not args.trace_memory:
        into_doc(text)
    return 0 if summary(run)["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
