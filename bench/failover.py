"""A standby that takes over: the failover scenario, run by tests/integration/test_failover.py
(which asserts on it) and by `python -m bench.failover` (which prints its figures).

A primary and a synchronous hot standby (scripts/pg-server: pg_basebackup -R,
synchronous_standby_names); the ledger's HTTP server (`impress-ledger serve`, a process of its
own) and the read models' runner (in this process) on one multi-host URL with
target_session_attrs=read-write. Clients write (and read) under load; the primary is killed
with -9, every process of it, and the standby promoted; the clients go on, retrying each
unacknowledged write with its Idempotency-Key. Then: is every acknowledged fact on the new
primary, at its position? Was any request recorded twice? Does the chain verify? Did the read
models resume, exactly once (they equal a replay of the log)? The server was never restarted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from application.ledger import Ledger
from audit.verify import verify as verify_chain
from bench.clients import SETUP_ROLE, WRITE_ROLE, Call, Client, set_up
from bench.latency import Served, serving
from bench.pgserver import Server, scratch_dir
from eventstore import EventLog
from projections.whopays import ViewRunner, WhoPaysView
from projections.whopays import verify as verify_model


@dataclass
class Outcome:
    clients: int
    acknowledged_before_kill: int = 0
    acknowledged_after_kill: int = 0
    writes_in_flight_at_kill: int = 0  # sent before the kill, answered after it
    writes_in_flight_acknowledged: int = 0  # of those, answered 201 (the server retried them)
    longest_write_across_kill_seconds: float = 0.0
    writes_refused_during_failover: int = 0  # answered 503 (or not at all) until the first ack
    reads_refused_during_failover: int = 0
    seconds_kill_to_promoted: float = 0.0
    seconds_kill_to_first_ack: float = 0.0  # what the clients saw: the ledger unable to write
    lost: list[dict[str, Any]] = field(default_factory=list)  # acknowledged, not on the new primary
    doubled_keys: list[str] = field(default_factory=list)  # one request recorded twice
    chain_ok: bool = False
    read_model_differences: int = -1
    read_model_position: int = 0
    head: int = 0
    standby_answered_as_primary: bool = False
    server_ready_after: bool = False


class Load:
    """Client threads and what they were answered."""

    def __init__(self, served: Served, clients: int) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.stop = threading.Event()
        token = served.token(WRITE_ROLE, subject="failover")
        self.http = [httpx.Client(base_url=served.base, timeout=30) for _ in range(clients)]
        self.clients = [Client(n + 1, h, token, read_share=0.3) for n, h in enumerate(self.http)]
        self.threads = [threading.Thread(target=self._run, args=(c,), daemon=True)
                        for c in self.clients]

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _run(self, client: Client) -> None:
        while not self.stop.is_set():
            client.step(self._record, self.stop.is_set)

    def acknowledged(self, since: float = 0.0) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.status == 201 and c.started >= since]

    def wait_for(self, count: int, since: float = 0.0, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged(since)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} writes acknowledged in {timeout} s")
            time.sleep(0.05)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)
        for h in self.http:
            h.close()


def run(workdir: Path, *, clients: int = 4, before: int = 80, after: int = 80) -> Outcome:
    primary = Server.primary(workdir / "primary")
    standby = Server.standby_of(primary, workdir / "standby")
    url = (f"postgresql://impress@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/impress_test"
           "?target_session_attrs=read-write&connect_timeout=2")
    out = Outcome(clients)
    ledger = Ledger(EventLog(url))
    runner = ViewRunner(ledger, url, poll_interval=0.5)
    try:
        with serving(url, workdir) as served:
            set_up(served.base, served.token(SETUP_ROLE), clients)
            runner.start()
            with Load(served, clients) as load:
                load.wait_for(before)
                out.standby_answered_as_primary = _standby_answers_as_primary(
                    ledger, standby, load)
                primary.kill()
                killed = time.monotonic()  # every process of the primary is gone
                standby.promote()
                out.seconds_kill_to_promoted = time.monotonic() - killed
                load.wait_for(after, since=killed)
            _count(out, load, killed)
            out.server_ready_after = httpx.get(f"{served.base}/ready").status_code == 200
        _check(out, load, ledger, standby, url, runner)
    finally:
        runner.stop()
        ledger.close()
        standby.remove()
        primary.remove()
    return out


def _standby_answers_as_primary(ledger: Ledger, standby: Server, load: Load) -> bool:
    """Reads may go to the standby: as known at position P, once it has replayed P, it answers
    exactly as the primary (docs/reliability.md, the lag rule)."""
    acked = load.acknowledged()[-1]
    position = max(f["position"] for f in acked.acknowledged)
    pid = next(f["stream"] for f in acked.acknowledged).partition("/")[2]
    with EventLog(standby.url(), create_tables=False) as log:
        deadline = time.monotonic() + 10
        while log.head() < position and time.monotonic() < deadline:
            time.sleep(0.01)
        on_standby = Ledger(log).timeline(pid, position=position)
    return on_standby == ledger.timeline(pid, position=position)


def _count(out: Outcome, load: Load, killed: float) -> None:
    after = load.acknowledged(killed)
    first = min(c.started + c.seconds for c in after)
    out.seconds_kill_to_first_ack = first - killed
    out.acknowledged_before_kill = len(load.acknowledged()) - len(after)
    out.acknowledged_after_kill = len(after)
    across = [c for c in load.calls
              if c.kind == "write" and c.started < killed < c.started + c.seconds]
    out.writes_in_flight_at_kill = len(across)
    out.writes_in_flight_acknowledged = sum(c.status == 201 for c in across)
    out.longest_write_across_kill_seconds = max((c.seconds for c in across), default=0.0)
    during = [c for c in load.calls if killed <= c.started < first and c.status != 201]
    out.writes_refused_during_failover = sum(c.kind == "write" for c in during)
    out.reads_refused_during_failover = sum(c.kind == "read" for c in during)


def _check(out: Outcome, load: Load, ledger: Ledger, standby: Server, url: str,
           runner: ViewRunner) -> None:
    with EventLog(standby.url(), create_tables=False) as log:
        stored = {f.position: f for f in log.read()}
        out.head = log.head()
        out.chain_ok = verify_chain(log).ok
    for call in load.acknowledged():
        for fact in call.acknowledged:
            found = stored.get(fact["position"])
            if found is None or (found.stream, found.version, found.type) != (
                    fact["stream"], fact["version"], fact["type"]):
                out.lost.append(fact)
    appends: dict[str, set[Any]] = {}
    for f in stored.values():
        if isinstance(key := f.actor.get("idempotency_key"), str):
            appends.setdefault(key, set()).add(f.recorded_at)
    out.doubled_keys = sorted(k for k, moments in appends.items() if len(moments) > 1)
    view = WhoPaysView(url, create=False)
    try:
        view.wait_for(out.head, timeout=60)
        out.read_model_position = view.position()
    finally:
        view.close()
    runner.stop()
    out.read_model_differences = len(verify_model(ledger, url))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--before", type=int, default=200, help="acknowledged writes before the kill")
    parser.add_argument("--after", type=int, default=200, help="and after it")
    args = parser.parse_args(argv)
    workdir = scratch_dir("impress-failover-")
    try:
        outcome = run(workdir, clients=args.clients, before=args.before, after=args.after)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(asdict(outcome), indent=2, default=str))
    return 0 if not outcome.lost and not outcome.doubled_keys else 1


if __name__ == "__main__":
    raise SystemExit(main())
