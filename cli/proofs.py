"""`impress-ledger audit`: signed tree heads and Merkle proofs (docs/proofs.md, ADR 0019).

    audit keygen --output FILE                       a new Ed25519 signing key (never overwrites)
    audit head [--key FILE] [--output FILE]          sign the current head and record it
    audit heads                                      every head the ledger signed (JSON lines)
    audit keys                                       the public keys it signed with
    audit inclusion --position P [--tree-size N]     proof of the fact at P (default N: latest head)
    audit consistency --first M [--second N]         proof that N extends M (default N: latest head)

These read the database directly (an operator's or auditor's tool): a tenant gets proofs over
the API, which shows each one only the facts it may see. Partners check every document offline
with `impress-verify`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.settings import Settings
from audit import heads as signed_heads
from audit import proofs
from cli.audit import OutputFile, audit_app
from cli.core import DatabaseOption, cli_actor, one_line_errors, open_ledger
from proofs import keys as signing

KeyOption = Annotated[Path | None, typer.Option(
    "--key", envvar="IMPRESS_HEAD_KEY_FILE", help="The Ed25519 signing key (PEM).")]


def _write(document: Any, output: Path | None) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}", err=True)


@audit_app.command("keygen")
@one_line_errors
def keygen_command(output: Annotated[Path, typer.Option(
        "--output", help="The new key's file (created readable by you only).")]) -> None:
    """Make a new Ed25519 key for signing tree heads; print its id and public key.

    Keep the file outside the database and its backups; give partners the public key by a
    channel they trust. Rotate by making a new key and pointing --key at it: old heads keep
    their key id and stay verifiable with the old public key."""
    key = signing.generate(output)
    typer.echo(f"key id {key.key_id}, written to {output}", err=True)
    sys.stdout.write(key.public_pem())


@audit_app.command("head")
@one_line_errors
def head_command(key: KeyOption = None, output: OutputFile = None,
                 database: DatabaseOption = None) -> None:
    """Sign the head of the log's Merkle tree (size, root, time) and record it in the log.

    The head covers every fact recorded so far; its own fact comes after them. A scheduler runs
    this daily (docs/proofs.md); partners archive the heads."""
    settings = Settings()
    path = key or settings.head_key_file
    if path is None:
        raise ValueError("no signing key: give --key FILE or set IMPRESS_HEAD_KEY_FILE (make one "
                         "with `impress-ledger audit keygen --output FILE`)")
    signing_key = signing.load_signing_key(path)
    with open_ledger(database) as ledger:
        recorded = signed_heads.sign(ledger, signing_key, cli_actor("auditor"),
                                     log_name=settings.log_name)
    _write(recorded.to_dict(), output)


@audit_app.command("heads")
@one_line_errors
def heads_command(database: DatabaseOption = None) -> None:
    """Every signed tree head the ledger recorded, oldest first, one JSON object per line."""
    with open_ledger(database) as ledger:
        for h in signed_heads.recorded_heads(ledger.log):
            sys.stdout.write(json.dumps(h.to_dict()) + "\n")


@audit_app.command("keys")
@one_line_errors
def keys_command(output: OutputFile = None, database: DatabaseOption = None) -> None:
    """The public keys the ledger signed heads with (impress-verify --keys reads this)."""
    with open_ledger(database) as ledger:
        _write(signed_heads.keys(ledger.log), output)


TreeSize = Annotated[int | None, typer.Option(
    "--tree-size", help="The tree's size (default: the latest signed head's).")]


@audit_app.command("inclusion")
@one_line_errors
def inclusion_command(
    position: Annotated[int, typer.Option("--position", help="The fact's log position.")],
    tree_size: TreeSize = None, output: OutputFile = None, database: DatabaseOption = None,
) -> None:
    """Proof that the fact at a position is in the tree of the first N facts."""
    with open_ledger(database) as ledger:
        heads = signed_heads.recorded_heads(ledger.log)
        size = tree_size if tree_size is not None else _latest_size(heads, position)
        _write(proofs.inclusion(ledger.log, position, size, heads).to_dict(), output)


@audit_app.command("consistency")
@one_line_errors
def consistency_command(
    first: Annotated[int, typer.Option("--first", help="The earlier tree's size.")],
    second: Annotated[int | None, typer.Option(
        "--second", help="The later tree's size (default: the latest signed head's).")] = None,
    output: OutputFile = None, database: DatabaseOption = None,
) -> None:
    """Proof that the tree of the first N facts extends the tree of the first M."""
    with open_ledger(database) as ledger:
        size = second if second is not None else _latest_size(
            signed_heads.recorded_heads(ledger.log), first)
        _write(proofs.consistency(ledger.log, first, size).to_dict(), output)


def _latest_size(heads: list[signed_heads.RecordedHead], needed: int) -> int:
    if not heads:
        raise ValueError("no tree head is signed yet: give the size, or sign one with "
                         "`impress-ledger audit head`")
    size = heads[-1].signed.head.tree_size
    if needed > size:
        raise ValueError(f"{needed} lies beyond the latest signed head ({size} facts): give "
                         "the size, or wait for the next head")
    return size
