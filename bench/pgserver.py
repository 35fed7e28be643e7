"""PostgreSQL servers of a scenario's own (scripts/pg-server), for the tests and measurements
that stop, freeze, kill or promote one (the server scripts/with-postgres starts is shared by
the whole suite).

As root the servers run as the postgres user; their directories are made under /tmp, which that
user can reach. Only the processes of a server started here are ever signalled."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "pg-server"
SUPERUSER, DBNAME = "impress", "impress_test"


def _run(*args: str) -> str:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/pg-server {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def scratch_dir(prefix: str) -> Path:
    """A new directory under /tmp that the server's user can pass through."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


class Server:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def primary(cls, directory: Path) -> Server:
        _run("primary", str(directory))
        return cls(directory)

    @classmethod
    def standby_of(cls, primary: Server, directory: Path) -> Server:
        _run("standby", str(primary.directory), str(directory))
        return cls(directory)

    @property
    def port(self) -> int:
        return int((self.directory / "port").read_text())

    def url(self, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{DBNAME}"

    def stop(self) -> None:
        _run("stop", str(self.directory))

    def start(self) -> None:
        _run("start", str(self.directory))

    def promote(self) -> None:
        _run("promote", str(self.directory))

    def remove(self) -> None:
        _run("remove", str(self.directory))

    def processes(self) -> list[int]:
        """The postmaster and its children."""
        postmaster = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                                  text=True).stdout.split()
        return [postmaster, *map(int, children)]

    def signal(self, signum: signal.Signals) -> None:
        for pid in self.processes():
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass  # a child that ended meanwhile

    def kill(self) -> None:
        """kill -9 of the server and every process of it, as a machine that dies. The
        postmaster is stopped first, so it cannot start a backend between the listing of its
        children and their end (one that escaped could go on answering reads)."""
        postmaster = self.processes()[0]
        os.kill(postmaster, signal.SIGSTOP)
        for pid in self.processes()[1:]:
            os.kill(pid, signal.SIGKILL)
        os.kill(postmaster, signal.SIGKILL)

    def freeze(self) -> None:
        """The server stops answering but keeps its connections open (SIGSTOP)."""
        self.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal(signal.SIGCONT)
