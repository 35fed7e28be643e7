"""`impress-ledger`: the command line for finance officers, the trial office and auditors.

The root app lives here; each group of commands registers itself from its own module
(`api.cli_*`), so the CLI grows without one file owning everything.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click.exceptions import ClickException  # typer vendors click (0.29)
from typer.core import TyperGroup

from application.runtime import tune_collector


class OneLineErrors(TyperGroup):
    """Usage errors (a mistyped option, a value not among an option's choices) end in one line
    on stderr and exit 2, like every other bad input, instead of a box of usage."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode,
                                windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args,
                                **extra)
        except ClickException as e:
            # typer words a value not among the choices "Value error, 'pdf' is not one of ..."
            message = e.format_message().replace("Value error, ", "")
            if message:  # none when the help was shown instead (no arguments)
                typer.echo(f"impress-ledger: {message}", err=True)
            sys.exit(e.exit_code)
        except typer.Abort:
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    name="impress-ledger",
    help="The IMPRESS-Norway financing ledger: who pays for each patient's drug, on any date.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ("cli.core", "cli.ledger", "cli.books", "cli.readmodels", "cli.operations",
                   "cli.server",
                   "cli.audit", "cli.proofs", "cli.bundles")
"""Modules that add commands to `app` when imported."""


def main() -> None:
    tune_collector()
    for name in COMMAND_MODULES:
        importlib.import_module(name)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
