"""`impress-ledger`: the command line for finance officers, the trial office and auditors.

The root app lives here; each group of commands registers itself from its own module
(`api.cli_*`), so the CLI grows without one file owning everything.
"""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="impress-ledger",
    help="The IMPRESS-Norway financing ledger: who pays for each patient's drug, on any date.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ("cli.core", "cli.ledger", "cli.readmodels", "cli.server", "cli.audit",
                   "cli.proofs")
"""Modules that add commands to `app` when imported."""


def main() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
