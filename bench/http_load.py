"""Who pays over HTTP under concurrent load (issue 11, item 5): `wrk` (Debian's, a C load client
in a process of its own) with 8 connections on 2 threads against `impress-ledger serve` with 2
workers, interleaved with the same load on a minimal FastAPI endpoint returning a constant,
served the same way (bench.constant), in the same run; and pages of `/v1/payers` (500 rows)
asked one after the other by one client. Keep-alive connections, as a real client keeps them.
The token is an auditor's (every patient visible). wrk reports latency percentiles of the
whole run; each figure is the median of the rounds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from statistics import median
from typing import Any

from bench.latency import _free_port, serving, stop, wait_until_up

CONNECTIONS, THREADS, WORKERS = 8, 2, 2
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    found = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip())
    if found is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(found[1]) * _UNIT[found[2]]


def parse(out: str) -> dict[str, Any]:
    """wrk --latency's summary: requests/s, p50/p90/p99 (ms), errors and non-2xx answers."""
    pct = {f"p{p}": _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M)}
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {"requests_per_second": float(rate[1]) if rate else None, **pct,
            "non_2xx": int(non_2xx[1]) if non_2xx else 0,
            "socket_errors": errors[1] if errors else None}


def script(workdir: Path, token: str, paths: list[str]) -> Path:
    """A wrk Lua script that asks `paths` in turn with the bearer token."""
    lines = ["local paths = {"] + [f'  "{p}",' for p in paths] + [
        "}", "local n = 0", f'wrk.headers["Authorization"] = "Bearer {token}"',
        "request = function()", "  n = n + 1",
        "  return wrk.format(\"GET\", paths[(n % #paths) + 1])", "end"]
    path = workdir / f"wrk-{len(paths)}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def load(base: str, seconds: float, lua: Path | None = None, path: str = "/",
         connections: int = CONNECTIONS) -> dict[str, Any]:
    threads = min(THREADS, connections)
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--latency", "--timeout", "10s"]
    if lua is not None:
        args += ["-s", str(lua)]
    done = subprocess.run([*args, base + path], capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    return parse(done.stdout)


@contextmanager
def constant_server(workdir: Path) -> Iterator[str]:
    port = _free_port()
    with (workdir / "constant.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bench.constant", "--port", str(port),
                                 "--workers", str(WORKERS)], stdout=log, stderr=log,
                                cwd=Path(__file__).resolve().parents[1])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/constant", proc, f"the constant endpoint did not start: see "
                      f"{workdir / 'constant.log'}")
        yield base
    finally:
        stop(proc)


def concurrent(url: str, questions: list[tuple[str, date]], payers_on: date, workdir: Path,
               seconds: float = 5.0, rounds: int = 3) -> dict[str, Any]:
    """Interleaved rounds: constant, who pays, constant, who pays, ...; then payers pages."""
    if not wrk_available():
        return {"skipped": "wrk is not installed (scripts/ensure-wrk installs Debian's)"}
    out: dict[str, Any] = {"connections": CONNECTIONS, "client_threads": THREADS,
                           "server_workers": WORKERS, "seconds_per_round": seconds,
                           "rounds": rounds, "client": "wrk", "load_average_before":
                           os.getloadavg()[0]}
    runs: dict[str, list[dict[str, Any]]] = {"constant": [], "who_pays": [], "payers_page": []}
    with serving(url, workdir, "server-workers.log", workers=WORKERS) as served, \
            constant_server(workdir) as constant:
        base, token = served.base, served.token()
        asks = script(workdir, token, [f"/v1/patients/{p}/payer?on={on.isoformat()}"
                                       for p, on in questions])
        pages = script(workdir, token, [f"/v1/payers?on={payers_on.isoformat()}&limit=500"])
        load(base, 2, asks)  # warm up: every worker's caches and connections
        load(constant, 1, path="/constant")
        for _ in range(rounds):
            runs["constant"].append(load(constant, seconds, path="/constant"))
            runs["who_pays"].append(load(base, seconds, asks))
        for _ in range(rounds):  # one client asking page after page, as a page's reader does
            runs["payers_page"].append(load(base, seconds, pages, connections=1))
    for name, found in runs.items():
        out[name] = {key: median(r[key] for r in found) for key in
                     ("requests_per_second", "p50", "p90", "p99") if all(
                         r.get(key) is not None for r in found)}
        out[name]["non_2xx"] = sum(r["non_2xx"] for r in found)
        out[name]["rounds"] = found
    out["who_pays_vs_constant"] = round(out["who_pays"]["requests_per_second"] /
                                        out["constant"]["requests_per_second"], 3)
    out["load_average_after"] = os.getloadavg()[0]
    return out
