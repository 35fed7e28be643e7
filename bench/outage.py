"""The database goes away and comes back: how the ledger's server answers meanwhile, and how
soon it writes again, without a restart (docs/reliability.md). `python -m bench.outage`.

A PostgreSQL server of its own (scripts/pg-server), the ledger's HTTP server on it, 4 clients
writing and reading (bench/clients.py: each write retried with its key until acknowledged).
For each outage length: the database is stopped (pg_ctl stop -m immediate) for that long and
started again; measured are how long /ready and a write take to answer meanwhile, and the time
from the database being up again to the first acknowledged write. Then the database is frozen
(SIGSTOP), and /ready timed while it is.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from bench.clients import SETUP_ROLE, set_up
from bench.failover import Load
from bench.latency import Served, serving
from bench.pgserver import Server, scratch_dir


def timed_get(base: str, path: str) -> tuple[int, float]:
    started = time.monotonic()
    status = httpx.get(f"{base}{path}", timeout=120).status_code
    return status, round(time.monotonic() - started, 2)


def outage(served: Served, server: Server, load: Load, seconds: float) -> dict[str, Any]:
    load.wait_for(20, since=time.monotonic())
    server.stop()
    stopped = time.monotonic()
    ready = timed_get(served.base, "/ready")
    time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
    refused = [c for c in load.calls if c.started >= stopped and c.kind == "write"]
    server.start()
    up = time.monotonic()
    load.wait_for(1, since=up)
    first = min(c.started + c.seconds for c in load.acknowledged(up))
    return {"outage_seconds": seconds, "ready_while_down": ready,
            "writes_refused": len(refused),
            "write_answer_seconds_while_down": round(max(c.seconds for c in refused), 2)
            if refused else None,
            "statuses_while_down": sorted({c.status for c in refused}),
            "seconds_up_to_first_acknowledged_write": round(first - up, 2)}


def frozen(served: Served, server: Server) -> dict[str, Any]:
    server.freeze()
    try:
        answers = [timed_get(served.base, "/ready") for _ in range(3)]
    finally:
        server.thaw()
    return {"ready_while_frozen": answers}


def run(workdir: Path, outages: list[float]) -> dict[str, Any]:
    server = Server.primary(workdir / "db")
    url = f"{server.url()}?connect_timeout=2"
    results: dict[str, Any] = {"url_options": "connect_timeout=2", "outages": []}
    try:
        with serving(url, workdir) as served:
            set_up(served.base, served.token(SETUP_ROLE), 4)
            with Load(served, 4) as load:
                for seconds in outages:
                    results["outages"].append(outage(served, server, load, seconds))
            results.update(frozen(served, server))
    finally:
        server.remove()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outages", default="10,60", help="seconds, comma-separated")
    args = parser.parse_args(argv)
    workdir = scratch_dir("impress-outage-")
    try:
        results = run(workdir, [float(s) for s in args.outages.split(",")])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
