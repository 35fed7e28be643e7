"""Deterministic generator of realistic ledger histories, as a stream of steps.

    python -m bench.generate --size S [--seed 6] [--out history.jsonl]

A step is a command, the actor who gives it and the ledger's `today` when it is given
(`bench.world.Step`); a `Tick` step stands for the ledger's own quarterly `tick(today)`.
Sizes: `smoke` (a few hundred patients, for `make bench`; `tiny` for the tests), `S` (10 000
patients) and `M` (100 000 patients, about two million facts). The history covers five years
of the national trial: the eight partner companies and their drugs of the report, a new framework
agreement per company every two years, cohorts opened as patients arrive (stage 1, 2, then
expansion; some directly on a partner trial's evidence), group exemptions granted weeks late
and retroactively, an occasional revocation, permanent financing, price changes every January,
a coverage and a grant amendment, a drug rejected by Beslutningsforum, and for each patient
enrolment, start, dispensations every four weeks, the 16-week assessment (a fifth recorded
weeks late), transfers, end of treatment, corrections, and for stage patients the grant
invoiced and paid.

Steps are produced day by day; only the agenda of future events of patients still on
treatment is held in memory, never the history.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bench.world import Step, World
from domain import codec
from domain import commands as c

__all__ = ["SIZES", "Size", "Step", "command_line", "digest", "steps"]


@dataclass(frozen=True)
class Size:
    name: str
    patients: int
    days: int  # over which the patients arrive
    follow_up: int = 0  # days the history goes on after the last enrolment


SIZES = {
    "tiny": Size("tiny", 60, 150),  # for the test of the runner
    "smoke": Size("smoke", 300, 400, 60),
    "S": Size("S", 10_000, 1826, 365),
    "M": Size("M", 100_000, 1826, 365),
}
SEED = 6


def steps(size: str | Size, seed: int = SEED) -> Iterator[Step]:
    """The history of a size, step by step. The same size and seed give the same steps."""
    s = SIZES[size] if isinstance(size, str) else size
    return World(s.patients, s.days, seed, s.follow_up).steps()


def command_args(command: c.Command) -> dict[str, Any]:
    return {f.name: codec.encode_value(getattr(command, f.name)) for f in fields(command)}


def command_line(command: c.Command) -> str:
    """The command as a line of a bulk import file (docs/import-format.md)."""
    return json.dumps({"command": type(command).__name__, "args": command_args(command)},
                      ensure_ascii=False)


def step_line(step: Step) -> str:
    return json.dumps({"today": step.today.isoformat(), "actor": step.actor.to_dict(),
                       "command": type(step.command).__name__,
                       "args": command_args(step.command)}, ensure_ascii=False)


def digest(stream: Iterator[Step]) -> tuple[int, str]:
    """How many steps, and a SHA-256 over their JSON lines: equal digests, equal histories."""
    h, n = hashlib.sha256(), 0
    for step in stream:
        h.update(step_line(step).encode())
        h.update(b"\n")
        n += 1
    return n, h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="smoke")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="write the steps as JSON lines here")
    args = parser.parse_args(argv)
    counts: dict[str, int] = {}
    h, n = hashlib.sha256(), 0
    out = args.out.open("w", encoding="utf-8") if args.out else None
    try:
        for step in steps(args.size, args.seed):
            line = step_line(step)
            h.update(line.encode() + b"\n")
            n += 1
            counts[type(step.command).__name__] = counts.get(type(step.command).__name__, 0) + 1
            if out:
                out.write(line + "\n")
    finally:
        if out:
            out.close()
    json.dump({"size": args.size, "seed": args.seed, "steps": n, "sha256": h.hexdigest(),
               "commands": dict(sorted(counts.items()))}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
