"""Who pays: latency in process (Ledger.who_pays, the read model's WhoPaysView.payer_on) and
over HTTP (uvicorn on 127.0.0.1, a bounded number of sequential requests), as known now and as
known at a moment K half-way through the log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from bench.ingest import percentiles
from application.ledger import Ledger


@dataclass(frozen=True)
class Sample:
    """Questions to ask: (patient, date) pairs, now and as known at K."""

    now: list[tuple[str, date]]
    at_k: list[tuple[str, date]]
    known_at: datetime
    position: int


def sample(ledger: Ledger, first: date, last: date, n: int, seed: int = 1) -> Sample:
    rng = Random(seed)
    head = ledger.log.head()
    k = next(iter(ledger.log.read(after=head // 2 - 1, batch=1)))
    position = ledger.log.position_at(k.recorded_at)
    everyone = [s.partition("/")[2] for s in ledger.log.streams("patient/")]
    by_k = [f.data["patient_id"] for f in ledger.log.read(up_to=position, types=["PatientEnrolled"],
                                                           batch=5000)]
    span, span_k = (last - first).days, (k.valid_on or last) - first

    def ask(pids: list[str], days: int) -> list[tuple[str, date]]:
        return [(rng.choice(pids), first + timedelta(days=rng.randint(0, max(days, 1))))
                for _ in range(n)]

    return Sample(ask(everyone, span), ask(by_k, max(span_k.days, 1)), k.recorded_at, position)


def timed(ask: Callable[[str, date], Any], questions: list[tuple[str, date]],
          warm_up: int = 50) -> dict[str, Any]:
    for pid, on in questions[:warm_up]:
        ask(pid, on)
    seconds = []
    for pid, on in questions:
        started = time.perf_counter()
        ask(pid, on)
        seconds.append(time.perf_counter() - started)
    return percentiles(seconds)


def warm_up(ledger: Ledger) -> int:
    """What a freshly started process pays once, before its cache holds the streams every
    answer reads: fold every stream but the patients' (the registry, companies, drugs,
    agreements, cohorts). Patients stay cold: at M most questions read their patient."""
    return ledger.warm()


def in_process(url: str, s: Sample) -> dict[str, Any]:
    """A freshly opened Ledger once it has read the long streams (timed apart), then the read
    model if it exists."""
    out: dict[str, Any] = {}
    ledger = Ledger.open(url, create_tables=False)
    try:
        started = time.perf_counter()
        out["ledger_warm_up"] = {"streams": warm_up(ledger),
                                 "seconds": round(time.perf_counter() - started, 2)}
        out["ledger_now"] = timed(lambda p, on: ledger.who_pays(p, on), s.now)
        out["ledger_at_k"] = timed(lambda p, on: ledger.who_pays(p, on, known_at=s.known_at),
                                   s.at_k)
    finally:
        ledger.close()
    try:
        from projections.whopays import WhoPaysView
    except ImportError:
        out["view"] = "projections.whopays does not exist yet"
        return out
    with WhoPaysView(url, create=False) as view:
        out["view_now"] = timed(lambda p, on: view.payer_on(p, on), s.now)
        out["view_at_k"] = timed(lambda p, on: view.payer_on(p, on, s.position), s.at_k)
    return out


# --- over HTTP -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """A running `impress-ledger serve --dev`: where it answers, its process, its tokens."""

    base: str
    pid: int
    workdir: Path

    def token(self, role: str = "auditor", org: str = "impress", subject: str = "bench") -> str:
        from api.auth import issue_dev_token
        from api.settings import Settings

        return issue_dev_token(Settings(data_dir=self.workdir, auth_mode="dev"), role=role,
                               organisation=org, subject=f"{subject}:{role}",
                               ttl_seconds=6 * 3600)


@contextmanager
def serving(url: str, workdir: Path, log_name: str = "server.log",
            workers: int | None = None, launcher: list[str] | None = None,
            env: dict[str, str] | None = None) -> Iterator[Served]:
    """`impress-ledger serve --dev` (or, with `workers`, `serve --workers N`, development
    tokens all the same) on a free port of 127.0.0.1. Stops the server (its process only) when
    done. `launcher`: what runs impress-ledger's arguments instead of its script (e.g.
    bench.tracemem); `env`: settings (IMPRESS_*) for the server."""

    env = {**os.environ, "IMPRESS_DATA_DIR": str(workdir), "IMPRESS_AUTH_MODE": "dev",
           **(env or {})}
    port = _free_port()
    script = str(Path(sys.executable).with_name("impress-ledger"))
    # only `init` creates a ledger (an existing one it leaves as it is)
    subprocess.run([script, "init", "--database", url], env=env, capture_output=True,
                   timeout=600, check=True)
    cli = launcher or [script]
    with (workdir / log_name).open("w") as log:
        mode = ["--dev"] if workers is None else ["--workers", str(workers)]
        proc = subprocess.Popen([*cli, "serve", *mode, "--database", url, "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/health", proc, f"the server did not start: see "
                      f"{workdir / log_name}")
        if env.get("IMPRESS_WARM_UP", "true").lower() not in ("false", "0", "no"):
            # figures of a server at rest: after each worker's start-up fold (api.served)
            _until_warmed(workdir / log_name, workers or 1, proc)
        yield Served(base, proc.pid, workdir)
    finally:
        stop(proc)


def _until_warmed(log: Path, workers: int, proc: subprocess.Popen[bytes],
                  seconds: float = 600) -> None:
    """Until each worker has logged the end of its warm-up (done or failed)."""
    deadline = time.monotonic() + seconds
    while True:
        text = log.read_text(errors="replace")
        if text.count("warmed up") + text.count("warm-up failed") >= workers:
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server's workers did not warm up: see {log}")
        time.sleep(0.2)


def wait_until_up(url: str, proc: subprocess.Popen[bytes], failure: str,
                  seconds: float = 120) -> None:
    """Until `url` answers 200; raises RuntimeError(failure) if the process ends first."""
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(failure)
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server this benchmark started (its process only), killing it if it hangs."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def over_http(url: str, s: Sample, workdir: Path, requests: int) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {}
    statuses: dict[str, int] = {}
    with serving(url, workdir) as served, httpx.Client(
            base_url=served.base, headers={"Authorization": f"Bearer {served.token()}"},
            timeout=30) as client:

        def ask(pid: str, on: date, known_at: datetime | None = None) -> None:
            params = {"on": on.isoformat()}
            if known_at is not None:
                params["known_at"] = known_at.isoformat()
            status = client.get(f"/v1/patients/{pid}/payer", params=params).status_code
            statuses[str(status)] = statuses.get(str(status), 0) + 1

        out["http_now"] = timed(ask, s.now[:requests])
        out["http_at_k"] = timed(lambda p, on: ask(p, on, s.known_at), s.at_k[:requests])
    out["http_statuses"] = statuses
    return out
