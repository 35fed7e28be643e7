"""`impress-verify`: check the ledger's signed tree heads and proofs offline, with only the
standard library, `cryptography` and the pure `domain` package (docs/proofs.md).

    impress-verify head HEAD.json... --keys KEYS
    impress-verify inclusion PROOF.json [--head HEAD.json] --keys KEYS
    impress-verify consistency --head NEW.json --archived OLD.json|DIR... --proof P.json... --keys KEYS
    impress-verify bundle BUNDLE.json [--head OLD.json|DIR...] [--proof P.json...] [--store PATH] --keys KEYS

KEYS: the ledger's public keys you trust, as PEM files or the keys document of GET
/v1/proofs/keys (get them from the ledger's operator by a channel you trust, not only from the
ledger itself). Exit status: 0 verified; 1 verification failed (the documents do not prove what
they claim: tampering, a rewrite, a wrong key); 2 bad input (a missing or malformed file).

Each command is one module-level function registered in COMMANDS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from domain.tree import BadDocument, SignedHead
from proofs import collector
from proofs.bundle import Bundle
from proofs.check import Failed, check_consistency, check_head, check_inclusion
from proofs.check_bundle import check_bundle
from proofs.documents import ConsistencyProof, InclusionProof, read_json
from proofs.keys import trusted_keys
from proofs.store import Store

VERIFIED, FAILED, BAD_INPUT = 0, 1, 2


def head_command(args: argparse.Namespace) -> list[str]:
    keys = trusted_keys(args.keys)
    return [check_head(SignedHead.from_dict(read_json(path)), keys, path) for path in args.heads]


def inclusion_command(args: argparse.Namespace) -> list[str]:
    proof = InclusionProof.from_dict(read_json(args.proof))
    head = SignedHead.from_dict(read_json(args.head)) if args.head else None
    return check_inclusion(proof, head, trusted_keys(args.keys))


def consistency_command(args: argparse.Namespace) -> list[str]:
    new = SignedHead.from_dict(read_json(args.head))
    archived = [SignedHead.from_dict(read_json(str(p))) for p in _files(args.archived)]
    if not archived:
        raise BadDocument("no archived head given (--archived FILE or DIRECTORY)")
    proofs = [ConsistencyProof.from_dict(read_json(p)) for p in args.proof or []]
    return check_consistency(new, archived, proofs, trusted_keys(args.keys))


def bundle_command(args: argparse.Namespace) -> list[str]:
    with collector.paused():
        bundle = Bundle.from_dict(read_json(args.bundle))
        archived = [SignedHead.from_dict(read_json(str(p))) for p in _files(args.head or [])]
        proofs = [ConsistencyProof.from_dict(read_json(p)) for p in args.proof or []]
        keys = trusted_keys(args.keys)
        if args.store is None:
            return check_bundle(bundle, keys, archived, proofs)
        store = Store.open(args.store, create=bundle.earlier is None)
        try:
            return check_bundle(bundle, keys, archived, proofs, store)
        finally:
            store.close()


def _files(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for its *.json files."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.glob("*.json")) if path.is_dir() else [path]
    return found


Command = Callable[[argparse.Namespace], list[str]]
COMMANDS: dict[str, tuple[Command, str]] = {
    "head": (head_command, "check the signature of signed tree heads"),
    "inclusion": (inclusion_command, "check that a fact is in the log a signed head describes"),
    "consistency": (consistency_command,
                    "check that a new signed head extends every head you archived earlier"),
    "bundle": (bundle_command, "check a statement bundle: its facts, their proofs, and its "
                               "figures recomputed from those facts"),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="impress-verify", description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="Exit status: 0 verified, 1 failed, 2 bad input.")
    sub = top.add_subparsers(dest="command", required=True)
    for name, (_, summary) in COMMANDS.items():
        p = sub.add_parser(name, help=summary, description=summary)
        p.add_argument("--keys", "--key", type=Path, action="append", required=True,
                       help="trusted public keys: a PEM file or a keys document (repeatable)")
        _arguments(name, p)
    return top


def _arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name == "head":
        p.add_argument("heads", nargs="+", help="signed tree head documents ('-': stdin)")
    elif name == "inclusion":
        p.add_argument("proof", help="an inclusion proof document ('-': stdin)")
        p.add_argument("--head", help="the signed head of the proof's tree size (default: "
                                      "the one the proof carries)")
    elif name == "consistency":
        p.add_argument("--head", required=True, help="the new signed head")
        p.add_argument("--archived", type=Path, action="append", required=True,
                       help="a head archived earlier, or a directory of them (repeatable)")
        p.add_argument("--proof", action="append",
                       help="a consistency proof from an archived head's size to the new "
                            "head's (repeatable)")
    elif name == "bundle":
        p.add_argument("bundle", help="a statement bundle document ('-': stdin)")
        p.add_argument("--head", type=Path, action="append",
                       help="a head you archived earlier, or a directory of them (repeatable): "
                            "the bundle's head must extend it")
        p.add_argument("--proof", action="append",
                       help="a consistency proof from an archived head's size to the bundle's "
                            "head, if the bundle does not carry it (repeatable)")
        p.add_argument("--store", type=Path,
                       help="your verifier's store (a SQLite file, made if missing): an accepted "
                            "bundle is recorded there, and a bundle resting on an earlier one "
                            "(impress-bundle-v3) takes the facts it leaves out from it")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run, _ = COMMANDS[args.command]
    try:
        lines = run(args)
    except Failed as e:
        print(f"impress-verify: FAILED: {e}", file=sys.stderr)
        return FAILED
    except BadDocument as e:
        print(f"impress-verify: {e}", file=sys.stderr)
        return BAD_INPUT
    for line in lines:
        print(line if line.startswith("NOTE ") else f"OK {line}")
    return VERIFIED


def entry() -> None:
    sys.exit(main())
