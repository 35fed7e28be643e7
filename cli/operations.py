"""`impress-ledger backup` and `restore`: a SQLite ledger copied while it runs, and put back only
once the copy is proven to be the same history (docs/operations.md). A PostgreSQL ledger is
backed up with pg_dump or pg_basebackup, as docs/operations.md shows.

    backup FILE [--force]             the copy, and FILE.digest.json: its head's digest
    restore FILE [--digest D] [--force]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from audit import verify as audit
from cli.core import DatabaseOption, fail, ledger_url, one_line_errors
from cli.main import app
from eventstore import EventLog
from eventstore import backup as files

ForceOption = Annotated[bool, typer.Option("--force", help="Replace what is there.")]


def digest_file(copy: Path) -> Path:
    return copy.with_name(copy.name + ".digest.json")


@app.command()
@one_line_errors
def backup(
    target: Annotated[Path, typer.Argument(help="Where to write the copy.")],
    database: DatabaseOption = None, force: ForceOption = False,
) -> None:
    """Copy the ledger (SQLite) while it runs; FILE.digest.json beside it holds the copy's head
    digest: keep it outside the system, restore proves the copy against it."""
    source = files.sqlite_path(ledger_url(database))
    if target.exists() and not force:
        raise ValueError(f"{target} exists; give --force to overwrite it")
    files.copy(source, target, replace=True)
    found = _proven(target, [], "so is the ledger it was copied from (`audit verify`)")
    digest_file(target).write_text(json.dumps(found.to_dict(), indent=2) + "\n", encoding="utf-8")
    typer.echo(f"backed up {found.position} facts to {target}; its digest is in "
               f"{digest_file(target)}: keep a copy outside the system")


@app.command()
@one_line_errors
def restore(
    source: Annotated[Path, typer.Argument(help="A copy made by `impress-ledger backup`.")],
    digest: Annotated[str | None, typer.Option(
        "--digest", help="The digest(s) to prove it against (default: FILE.digest.json).")] = None,
    database: DatabaseOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the ledger that is there (refused without it).")] = False,
) -> None:
    """Put a copy back as the ledger (SQLite), once SQLite's integrity check, the hash chain
    and the saved digest prove it. An existing ledger is replaced only with --force."""
    target = files.sqlite_path(ledger_url(database))
    saved = _saved_digests(source, digest)
    _proven(source, saved, "nothing was restored")
    try:
        files.copy(source, target, replace=force)
    except files.ExistingLedger as e:
        fail(f"{e}; restoring would replace it: give --force if that is meant")
    found = _proven(target, saved, "the restored ledger")
    typer.echo(f"restored {found.position} facts into {target}; digest {found.chain_hash}"
               + ("" if saved else " (no saved digest to prove it against: the chain is whole, "
                  "but only a digest kept outside shows it is the same history)"))


def _saved_digests(source: Path, given: str | None) -> list[audit.Digest]:
    if given is not None:
        text = Path(given).read_text(encoding="utf-8") if Path(given).exists() else given
        return audit.parse_digests(text)
    beside = digest_file(source)
    return audit.parse_digests(beside.read_text(encoding="utf-8")) if beside.exists() else []


def _proven(path: Path, digests: list[audit.Digest], then: str) -> audit.Digest:
    """The head digest of the ledger in `path`, once it is whole and matches every digest;
    else the command ends, saying so (and `then`)."""
    files.check(path)
    with EventLog(f"sqlite:///{path.absolute()}", create_tables=False) as log:
        result = audit.verify(log, digests)
        if not result.ok:
            difference = result.first_difference
            where = f" at position {difference.position} ({difference.kind})" if difference else ""
            fail(f"{path} is not the history it should be{where}: {then}", 1)
        return audit.digest(log)
