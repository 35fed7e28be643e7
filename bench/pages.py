"""How long the web pages take to render, per page and role, on the demo or a bench history.

    python -m bench.pages                       # the demo history (51 patients)
    python -m bench.pages --size S              # bench.generate's S history (10 000 patients),
                                                #   built once into --db, reused afterwards
    python -m bench.pages --db /path/ledger.db  # any existing SQLite ledger

Each page is rendered in process (the app's whole stack: session, CSP, tenancy, the queries,
the templates; no network) `--runs` times after one warm-up; prints the median and the
slowest, in milliseconds. Asserts nothing: `make page-timings` runs it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import structlog
from fastapi.testclient import TestClient

from application import demo
from application.ledger import Ledger
from web.app import create_app
from web.settings import WebSettings

ROLES = {  # role, organisation, pages ({patient} and {cohort} filled from the ledger; the
    # partner is the sample patient's company)
    "rhf_finance": ("helse-sor-ost", ["/", "/patients", "/patients/{patient}", "/worklist",
                                      "/statements?kind=public-cost&by=month"]),
    "partner": ("astrazeneca", ["/", "/patients", "/statements?kind=company"]),
    "trial_office": ("impress", ["/", "/cohorts", "/cohorts/{cohort}", "/record/enrolment",
                                 "/patients/{patient}"]),
    "auditor": ("impress", ["/audit", "/patients/{patient}"]),
}


def build(size: str, db: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{db}")
    try:
        if size == "demo":
            demo.load_demo(ledger)
            return
        from bench.generate import steps
        from bench.ingest import MIGRATION, Clock, bulk
        from bench.world import START

        clock = Clock(START)
        ledger.clock = clock
        ledger.install_reference(MIGRATION, START)
        tally = bulk(ledger, clock, steps(size))
        if tally.refused:
            raise SystemExit(f"the {size} history was refused: {tally.refused[:3]}")
    finally:
        ledger.close()


def project(db: Path) -> None:
    """The read models the pages read, built as after an import (`impress-ledger rebuild`)."""
    from projections.maintenance import rebuild

    ledger = Ledger.open(f"sqlite:///{db}")
    try:
        rebuild(ledger, ledger.log.url)
    finally:
        ledger.close()


def timings(db: Path, runs: int) -> list[tuple[str, str, float, float]]:
    data = Path(tempfile.mkdtemp(prefix="impress-pages-"))
    app = create_app(WebSettings(database_url=f"sqlite:///{db}", data_dir=data, auth_mode="dev",
                                 create_tables=False), configure_logging=False)
    ledger: Ledger = app.state.service.ledger
    registry = ledger.workspace().registry()
    region = {hf for hf, t in registry.trusts.items() if t.rhf_id == "helse-sor-ost"}
    # a patient the finance officer, the partner and the trial office all see
    sample = next(c for c in ledger.cases() if c.patient.hf_id in region
                  and c.patient.started is not None)
    fill = {"patient": sample.patient.patient_id, "cohort": sample.patient.cohort_id}
    roles = dict(ROLES)
    roles["partner"] = (sample.agreement.company_id, ROLES["partner"][1])
    out = []
    for role, (org, paths) in roles.items():
        client = TestClient(app, base_url="https://testserver")
        token = client.get("/sign-in").text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/sign-in", data={"csrf_token": token, "role": role, "organisation": org})
        for path in paths:
            url = path.format(**fill)
            client.get(url)  # warm-up
            seconds = []
            for _ in range(runs):
                started = time.perf_counter()
                answer = client.get(url)
                seconds.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"{role} {url}: {answer.status_code}")
            out.append((role, url, statistics.median(seconds) * 1000, max(seconds) * 1000))
    app.state.service.close()  # its read-model runner first, then the ledger it follows
    ledger.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["demo", "tiny", "smoke", "S", "M"], default="demo")
    parser.add_argument("--db", type=Path, help="SQLite ledger to use (built if missing).")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    # the request log to stderr: stdout is the table of timings
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    db = args.db or Path(tempfile.mkdtemp(prefix="impress-pages-")) / "ledger.db"
    if not db.exists():
        started = time.perf_counter()
        build(args.size, db)
        print(f"built the {args.size} history into {db} in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        started = time.perf_counter()
        project(db)
        print(f"built its read models in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(f"{'role':<14} {'page':<48} {'median ms':>10} {'max ms':>8}")
    for role, url, median, slowest in timings(db, args.runs):
        print(f"{role:<14} {url:<48} {median:>10.1f} {slowest:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
