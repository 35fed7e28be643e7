"""Where a long-running process's memory goes (`python -m bench.soak --trace-memory DIR`).

    python -m bench.tracemem --out DIR --every 60 --baseline 60 -- serve --dev ...

runs `impress-ledger` with its arguments in this process, with tracemalloc on, and a thread
that every `--every` seconds appends to DIR/memory.jsonl the process's resident memory, the
Python heap tracemalloc sees, SQLite's own allocations (sqlite3_memory_used: page caches and
statements, which tracemalloc does not see), what glibc's malloc holds and uses, the number of
threads and of open files; and writes
DIR/growth-<seconds>.txt: where live memory grew most since `--baseline` seconds in (once
pools have warmed up), by the code that allocated it, by the code on whose behalf (the
outermost frame of this repository), and the objects the collector tracks, by type. A diagnostic, slow (every
allocation is traced): its figures are for finding what grows, not for the soak's.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

FRAMES = 12  # frames kept per allocation: enough to see which of our functions asked
TOP = 30  # tracebacks listed per report


def _sqlite_memory() -> Callable[[], int | None]:
    """sqlite3_memory_used() of the SQLite library Python's sqlite3 module is linked to."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return lambda: None
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lambda: int(lib.sqlite3_memory_used())


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _malloc() -> Callable[[], dict[str, float]]:
    """glibc's heap: what malloc holds from the system (arena + mmapped) and what of it is in
    use; the difference is free memory the heap keeps (fragmentation, if it grows)."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except AttributeError:  # not glibc, or older than 2.33
        return lambda: {}
    mallinfo2.restype = _Mallinfo2

    def read() -> dict[str, float]:
        info = mallinfo2()
        return {"malloc_held_mib": round((info.arena + info.hblkhd) / 2**20, 1),
                "malloc_used_mib": round((info.uordblks + info.hblkhd) / 2**20, 1)}
    return read


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


ROOT = str(Path(__file__).resolve().parents[1])
Tally = dict[str, tuple[int, int]]  # where -> (bytes, blocks)


def _ours(filename: str) -> bool:
    return filename.startswith(ROOT) and "/.venv/" not in filename and filename != __file__


def tally(snapshot: tracemalloc.Snapshot) -> dict[str, Tally]:
    """Live memory by the innermost and by the outermost frame of this repository's code on
    each allocation's traceback (what allocated it, and on whose behalf), and by type of the
    objects the collector tracks (their count, as the bytes)."""
    inner: Tally = {}
    outer: Tally = {}
    for trace in snapshot.traces:
        ours = [f for f in trace.traceback if _ours(f.filename)]  # oldest first
        for where, frame in ((inner, ours[-1] if ours else None),
                             (outer, ours[0] if ours else None)):
            key = f"{frame.filename[len(ROOT) + 1:]}:{frame.lineno}" if frame else "(other)"
            size, count = where.get(key, (0, 0))
            where[key] = (size + trace.size, count + 1)
    types: Tally = {}
    for obj in gc.get_objects():
        name = type(obj).__qualname__
        types[name] = (types.get(name, (0, 0))[0] + 1, 0)
    return {"allocated at": inner, "on behalf of": outer, "objects by type": types}


def growth(now: dict[str, Tally], then: dict[str, Tally]) -> list[str]:
    lines = []
    for title, counts in now.items():
        base = then[title]
        diffs = sorted(((size - base.get(k, (0, 0))[0], count - base.get(k, (0, 0))[1], k)
                        for k, (size, count) in counts.items()), reverse=True)
        unit = "objects" if title == "objects by type" else "KiB"
        lines += ["", f"## {title}"]
        for size, count, key in diffs[:TOP]:
            shown = size if unit == "objects" else round(size / 1024, 1)
            lines.append(f"{shown:+12} {unit} {count:+9} blocks  {key}")
    return lines


def watch(out: Path, every: float, baseline: float) -> None:
    sqlite_used, malloc = _sqlite_memory(), _malloc()
    began = time.monotonic()
    first: dict[str, Tally] | None = None
    while True:
        time.sleep(every)
        seconds = round(time.monotonic() - began)
        traced, _ = tracemalloc.get_traced_memory()
        sample = {"seconds": seconds, "rss_mib": round(_rss_mib(), 1),
                  "python_mib": round(traced / 2**20, 1),
                  "sqlite_mib": round((sqlite_used() or 0) / 2**20, 1),
                  "threads": threading.active_count(),
                  "open_files": len(os.listdir("/proc/self/fd")), **malloc()}
        with (out / "memory.jsonl").open("a") as f:
            f.write(json.dumps(sample) + "\n")
        if seconds < baseline:
            continue
        now = tally(tracemalloc.take_snapshot())
        if first is None:
            first = now
            continue
        lines = [f"{seconds} s: growth since the baseline ({sample})", *growth(now, first)]
        (out / f"growth-{seconds:05d}.txt").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--every", type=float, default=60)
    parser.add_argument("--baseline", type=float, default=60)
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- then the arguments of impress-ledger")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    threading.Thread(target=watch, args=(args.out, args.every, args.baseline),
                     name="tracemem", daemon=True).start()
    from cli.main import main as ledger_main

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    sys.argv = ["impress-ledger", *command]
    ledger_main()


if __name__ == "__main__":
    main()
