"""A rebuild's replay shared among processes, the patients partitioned (ADR 0035).

Each worker is a process of its own (started fresh: no connection of the parent's is shared)
that reads its part of the log (its patients' facts and every other stream's, chosen by the
database's query, ADR 0036) and projects the facts of one part of the patients
(projections.projector.Part) into the rebuild's scratch tables, committing batch by batch with a
tracking row of its own (`<set>~<part>`). A patient's rows are computed by one worker only, so
the parts never write the same row; the rows no patient owns are part 0's.

    with Workers(log_url, view_url, fresh, count=2) as workers:
        workers.replay(progress)            # every worker caught up to the log's head
        ... under the live model's lock:
        for batch in workers.last(head):    # the facts since, computed, not written
            bulk.write(cur, ...)            # written by the parent, in its swap transaction

A worker that fails sends its traceback and the rebuild fails with it; a worker that dies
without a word (killed, out of memory) is noticed when its pipe ends. A worker dies with its
parent (Linux's parent-death signal, and a check of the parent after each batch), so a
killed rebuild leaves no worker writing into tables the next one removes.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, NoReturn

from eventstore import EventLog
from projections import rows as r
from projections import tables as tb
from projections.bulk import Batch
from projections.projector import PATIENTS, Part, Projector, replay
from projections.store import Database

SMALL = 50_000
"""Below this many facts in the log a rebuild runs in its own process: starting workers (about
a second) would cost more than they save."""

MAX_JOBS = 64
"""The most processes a rebuild uses (the CLI's limit; a stream id's byte allows 256 parts)."""

_STOP_WAIT = 10.0  # seconds a worker is given to exit when told to, before it is killed


class WorkerFailed(Exception):
    """A rebuild's worker failed or died; the rebuild is abandoned (its scratch tables go).
    The message is one line; `detail` holds the worker's traceback, if it sent one."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def default_jobs(head: int) -> int:
    """How many processes a rebuild of a log of `head` facts uses by default: one per core
    this process may run on, one for a small log."""
    if head < SMALL:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_JOBS))


@dataclass(frozen=True)
class Job:
    """What one worker is given (sent to a fresh process: plain values only)."""

    log_url: str
    view_url: str
    name: str  # its tracking row
    prefix: str  # the scratch tables'
    part: Part
    batch_size: int
    patients: int
    parent: int  # the parent's pid


@dataclass(frozen=True)
class Usage:
    """What a worker used, for the benchmark: its own peak memory and CPU time."""

    peak_rss_mib: float
    cpu_seconds: float


class Workers:
    """`count` worker processes replaying the log into `fresh`'s tables, part by part. Use as a
    context manager: leaving it stops them (killing any that does not stop)."""

    def __init__(self, log_url: str, view_url: str, fresh: tb.TableSet, count: int, *,
                 batch_size: int = 2000, patients: int = PATIENTS) -> None:
        if count < 2:
            raise ValueError(f"workers share a rebuild: at least 2, not {count}")
        self.jobs = [Job(log_url, view_url, part_name(fresh, i), fresh.prefix, Part(i, count),
                         batch_size, max(1, patients // count), os.getpid())
                     for i in range(count)]
        self.usage: list[Usage] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self._pipes: list[Connection] = []

    def __enter__(self) -> Workers:
        """Each worker is `python -m projections.partitioned FD`, a fresh interpreter (not
        multiprocessing's spawn, which would run the caller's main script again), and talks
        over a socket pair: its job first, then messages both ways."""
        try:
            for job in self.jobs:
                mine, theirs = socket.socketpair()
                with theirs:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "projections.partitioned", str(theirs.fileno())],
                        pass_fds=[theirs.fileno()], env=_environment())
                self._processes.append(process)
                self._pipes.append(Connection(mine.detach()))
                self._pipes[-1].send(job)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(("stop",))
            except OSError:
                pass
        deadline = time.monotonic() + _STOP_WAIT
        for pipe, process in zip(self._pipes, self._processes):
            try:
                if exc[0] is None and pipe.poll(max(0.0, deadline - time.monotonic())):
                    what, *args = pipe.recv()
                    if what == "usage":
                        self.usage.append(Usage(*args))
            except (OSError, EOFError):
                pass
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            pipe.close()

    def replay(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Until every worker has caught up to the log's head, twice: the second round brings
        those that finished early to the head the last one found. Returns the lowest position
        reached."""
        self._until_ready(progress)
        for i in range(len(self._pipes)):
            self._send(i, ("catch up",))
        return self._until_ready(progress)

    def last(self, to: int) -> Iterator[Batch]:
        """The batches of the facts up to `to` that the workers have not written, computed and
        handed over (to be written in the parent's transaction)."""
        for i in range(len(self._pipes)):
            self._send(i, ("last", to))
        for i in range(len(self._pipes)):
            yield from self._answer(i, "batches")[0]

    def _until_ready(self, progress: Callable[[int, int], None] | None) -> int:
        positions = [-1] * len(self._pipes)
        head = 0
        waiting = dict(zip(self._pipes, range(len(self._pipes))))
        while waiting:
            for pipe in wait(list(waiting)):
                assert isinstance(pipe, Connection)
                i = waiting[pipe]
                what, *args = self._receive(i)
                if what == "progress":
                    positions[i], head = args[0], max(head, args[1])
                    if progress is not None and min(positions) >= 0:
                        progress(min(positions), head)
                elif what == "ready":
                    positions[i] = args[0]
                    del waiting[pipe]
                else:
                    raise WorkerFailed(f"rebuild worker {i} said {what!r}")
        return min(positions)

    def _answer(self, i: int, expected: str) -> list[Any]:
        what, *args = self._receive(i)
        if what != expected:
            raise WorkerFailed(f"rebuild worker {i} said {what!r}, not {expected!r}")
        return args

    def _send(self, i: int, message: tuple[Any, ...]) -> None:
        try:
            self._pipes[i].send(message)
        except OSError:  # its end is closed: it died after its last message
            self._died(i)

    def _receive(self, i: int) -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = self._pipes[i].recv()
        except (EOFError, OSError):
            self._died(i)
        if message[0] == "failed":
            detail = message[1].rstrip()
            raise WorkerFailed(f"rebuild worker {i} failed: {detail.splitlines()[-1]}", detail)
        return message

    def _died(self, i: int) -> NoReturn:
        try:
            code: int | None = self._processes[i].wait(1.0)
        except subprocess.TimeoutExpired:
            code = None
        raise WorkerFailed(f"rebuild worker {i} died (exit code {code})") from None


def part_name(fresh: tb.TableSet, index: int) -> str:
    """A worker's tracking row: `<set>~<part>` (a killed rebuild's is found and removed with
    the set's, projections.scratch)."""
    return f"{fresh.name}~{index}"


def _environment() -> dict[str, str]:
    """The caller's environment (the log's settings), with this code's directory first on the
    path, wherever the caller runs from."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here + (os.pathsep + path if path else "")}


# --- in the worker ----------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    pipe = Connection(int(argv[0]))
    try:
        job = pipe.recv()
    except EOFError:
        return 1
    _work(pipe, job)
    return 0


def _work(pipe: Connection, job: Job) -> None:
    _die_with(job.parent)
    log: EventLog | None = None
    db: Database | None = None
    try:
        log = EventLog(job.log_url, create_tables=False)
        db = Database(job.view_url)
        projector = Projector(log, db, tb.TableSet(job.name, job.prefix, r.LIVE.tables),
                              batch_size=job.batch_size, patients=job.patients,
                              let_rows_go=False, part=job.part)

        def progress(position: int, head: int) -> None:
            if os.getppid() != job.parent:  # the parent is gone (without the signal)
                os._exit(1)
            pipe.send(("progress", position, head))

        replay(projector, progress=progress)
        pipe.send(("ready", projector.position))
        while True:
            what, *args = pipe.recv()
            if what == "catch up":
                replay(projector, progress=progress)
                pipe.send(("ready", projector.position))
            elif what == "last":
                pipe.send(("batches", list(_computed(projector, args[0]))))
            else:  # stop
                pipe.send(("usage", peak_rss_mib(), round(time.process_time(), 2)))
                return
    except EOFError:  # the parent closed its end: nothing to tell it
        return
    except BaseException:  # noqa: BLE001 - told to the parent, which fails the rebuild
        try:
            pipe.send(("failed", traceback.format_exc()))
        except OSError:
            pass
    finally:
        if db is not None:
            db.close()
        if log is not None:
            log.close()


def _computed(projector: Projector, to: int) -> Iterator[Batch]:
    """The batches of the facts after the worker's position up to `to`, not written."""
    while True:
        facts, reached = projector.next_facts(projector.position, to)
        if reached <= projector.position:
            return
        yield projector.compute(facts, reached)


def _die_with(parent: int) -> None:
    """Be killed when the parent dies (Linux), and exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere: the check after each batch
    if os.getppid() != parent:
        os._exit(1)


def peak_rss_mib() -> float:
    """This process's own peak memory: VmHWM is reset by exec; ru_maxrss on Linux keeps the
    parent's peak across fork and exec, so it would report the parent's memory."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
