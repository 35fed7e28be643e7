"""Bulk import through the product's own doors: `impress-ledger import FILE` and
POST /v1/imports, each on a fresh database, with the first lines of the history.

Both record with the ledger's real clock (today's date), so every derived fact of the history
is already due: they record somewhat more facts than the same commands replayed day by day.
Ticks are the ledger's own runs, not commands, so they are left out of the files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from bench.generate import command_line
from bench.latency import serving
from bench.world import Step
from domain import commands as c


def write_file(steps: Iterable[Step], path: Path, lines: int) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for step in islice((s for s in steps if not isinstance(s.command, c.Tick)), lines):
            out.write(command_line(step.command) + "\n")
            n += 1
    return n


def cli(url: str, path: Path, workdir: Path) -> dict[str, Any]:
    """One file, one process (the figure includes starting Python and opening the ledger)."""
    exe = str(Path(sys.executable).with_name("impress-ledger"))
    env = {**os.environ, "IMPRESS_DATA_DIR": str(workdir)}
    # only `init` creates a ledger (its time is not the import's)
    subprocess.run([exe, "init", "--database", url], env=env, capture_output=True, text=True,
                   timeout=600, check=True)
    started = time.perf_counter()
    done = subprocess.run([exe, "import", str(path), "--database", url], env=env,
                          capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout)[-500:]}
    found = re.search(r"(\d+) commands imported; (\d+) facts recorded", done.stdout)
    lines, facts = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    return {"commands": lines, "facts": facts, "seconds": round(seconds, 2),
            "commands_per_second": round(lines / seconds), "facts_per_second":
            round(facts / seconds)}


def http(url: str, path: Path, workdir: Path, chunk: int) -> dict[str, Any]:
    """POST /v1/imports, `chunk` lines per request (each all or nothing), one after another."""
    import httpx

    from api.auth import issue_dev_token
    from api.settings import Settings

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    commands = facts = 0
    seconds = 0.0
    with serving(url, workdir, "import-server.log") as served:
        base = served.base
        token = issue_dev_token(Settings(data_dir=workdir, auth_mode="dev"), role="migration",
                                organisation="impress", subject="bench:migration")
        with httpx.Client(base_url=base, timeout=3600,
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/x-ndjson"}) as client:
            for i in range(0, len(lines), chunk):
                body = "".join(lines[i:i + chunk]).encode()
                started = time.perf_counter()
                answer = client.post("/v1/imports", content=body)
                seconds += time.perf_counter() - started
                if answer.status_code != 201:
                    return {"error": f"{answer.status_code}: {answer.text[:500]}"}
                commands += answer.json()["lines"]
                facts += len(answer.json()["facts"])
    return {"commands": commands, "facts": facts, "requests": -(-len(lines) // chunk),
            "lines_per_request": chunk, "seconds": round(seconds, 2),
            "commands_per_second": round(commands / seconds),
            "facts_per_second": round(facts / seconds)}
