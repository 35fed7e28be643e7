"""The layout shows the flow (ADR 0013, 0020): each package imports only itself and the ones below
it, and the pure core imports nothing but the standard library, with no exemptions. `proofs` (ADR
0019), the signatures and documents `impress-verify` needs, sits just above the core and may
import only the core, the standard library and `cryptography`: a partner runs it with nothing
else installed.

    domain < proofs < eventstore < application < projections < reports < audit < api, web < cli

`api` and `web` share a layer: the edges of the HTTP server. Peers import each other only along
a declared edge: the pages use the API's settings, authentication, request schemas and app
factory; the API never imports the pages.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS: tuple[str | tuple[str, ...], ...] = (
    "domain", "proofs", "eventstore", "application", "projections", "reports", "audit",
    ("api", "web"), "cli")
RANK = {name: rank for rank, tier in enumerate(LAYERS)
        for name in (tier if isinstance(tier, tuple) else (tier,))}
PACKAGES = tuple(RANK)
PEERS = {"web": frozenset({"api"})}
THIRD_PARTY = {"domain": frozenset(), "proofs": frozenset({"cryptography"})}
"""Packages that may import nothing outside the project but the standard library and these."""


def imported_modules(source: str, filename: str, package: str) -> list[tuple[int, str]]:
    """(line, module) for every import in a module, wherever it sits (also inside functions
    and `if TYPE_CHECKING:` blocks). Relative imports are read as imports from `package`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = package + (f".{module}" if module else "")
            found.append((node.lineno, module))
    return found


def forbidden_imports(source: str, filename: str, package: str) -> list[str]:
    """The imports a module of `package` may not have, as 'file:line module'."""
    bad = []
    for line, module in imported_modules(source, filename, package):
        top = module.partition(".")[0]
        if top in RANK:
            allowed = (RANK[top] < RANK[package] or top == package
                       or top in PEERS.get(package, frozenset()))
        else:  # the standard library, or a third-party package: only outside the core
            allowed = (package not in THIRD_PARTY or top in sys.stdlib_module_names
                       or top == "__future__" or top in THIRD_PARTY[package])
        if not allowed:
            bad.append(f"{filename}:{line} {module}")
    return bad


MODULES = sorted((package, path) for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(("package", "module"), MODULES,
                         ids=[p.relative_to(ROOT).as_posix() for _, p in MODULES])
def test_a_module_imports_only_its_own_layer_and_those_below(package: str, module: Path) -> None:
    source = module.read_text(encoding="utf-8")
    assert forbidden_imports(source, module.relative_to(ROOT).as_posix(), package) == []


def test_every_layer_is_checked_and_the_core_is_among_them() -> None:
    packages = {package for package, _ in MODULES}
    assert packages == set(PACKAGES)
    core = {p.name for package, p in MODULES if package == "domain"}
    assert {"financing.py", "decide.py", "derive.py", "events.py", "state.py"} <= core


@pytest.mark.parametrize("line", [
    "import pydantic",
    "from pydantic import BaseModel",
    "import eventsourcing.persistence",
    "from eventstore import EventLog",
    "from application.ledger import Ledger",
    "def f():\n    import structlog",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import psycopg",
])
def test_the_checker_catches_an_import_the_core_may_not_have(line: str) -> None:
    source = (ROOT / "domain" / "financing.py").read_text(encoding="utf-8") + "\n" + line + "\n"
    assert len(forbidden_imports(source, "financing.py", "domain")) == 1


@pytest.mark.parametrize(("package", "line"), [
    ("eventstore", "from application.ledger import Ledger"),
    ("application", "from projections.whopays import WhoPaysView"),
    ("projections", "from reports.statements import Period"),
    ("reports", "from api.settings import Settings"),
    ("api", "from cli.main import app"),
    ("projections", "from . import x\nfrom api import deps"),
    ("proofs", "from eventstore import EventLog"),
    ("proofs", "import typer"),
    ("proofs", "from pydantic import BaseModel"),
    ("api", "from web.render import page"),
    ("web", "from cli.main import app"),
])
def test_the_checker_catches_a_lower_layer_importing_a_higher_one(package: str, line: str) -> None:
    assert len(forbidden_imports(line + "\n", "x.py", package)) == 1


@pytest.mark.parametrize(("package", "line"), [
    ("domain", "import json"),
    ("domain", "from collections.abc import Mapping"),
    ("domain", "from domain.values import Outcome"),
    ("domain", "from . import values"),
    ("eventstore", "import psycopg"),
    ("cli", "from api.settings import Settings"),
    ("api", "from domain import errors"),
    ("web", "from api.settings import Settings"),
    ("web", "from reports import queries"),
    ("cli", "from web.app import create_app"),
    ("proofs", "from cryptography.exceptions import InvalidSignature"),
    ("proofs", "from domain.tree import SignedHead"),
    ("audit", "from proofs.keys import SigningKey"),
])
def test_the_checker_lets_allowed_imports_pass(package: str, line: str) -> None:
    assert forbidden_imports(line + "\n", "x.py", package) == []


def test_impress_verify_runs_on_the_standard_library_cryptography_and_the_core_alone() -> None:
    """What the verifier loads, run as a partner would: no database driver, no web framework."""
    probe = ("import json, sys, proofs.cli; proofs.cli.parser(); "
             "print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules})))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, cwd=ROOT).stdout
    tops = {m for m in json.loads(loaded) if not m.startswith("_")}
    assert tops - set(sys.stdlib_module_names) == {"cryptography", "domain", "proofs"}


# --- routes and pages read the read side, never the store (ADR 0021) ---------------------------

ROUTE_MODULES = ("api/routes", "web/pages")
STORE_MODULES = ("eventstore", "eventsourcing", "psycopg", "sqlite3")


def store_imports(source: str, filename: str, package: str) -> list[str]:
    """The imports of the event store (or a database driver) in a route or page module."""
    return [f"{filename}:{line} {module}"
            for line, module in imported_modules(source, filename, package)
            if module.partition(".")[0] in STORE_MODULES]


def test_no_route_or_page_module_imports_the_event_store() -> None:
    """Routes and pages call query functions of the read side (projections.queries,
    reports.queries, application.queries) and the auditor's functions (audit.*), which read the
    log by design; the store and its drivers are none of theirs."""
    bad = []
    for folder in ROUTE_MODULES:
        for path in sorted((ROOT / folder).glob("*.py")):
            bad += store_imports(path.read_text(), str(path.relative_to(ROOT)),
                                 folder.partition("/")[0])
    assert bad == []


@pytest.mark.parametrize("line", ["from eventstore import StoredFact",
                                  "import eventstore.log", "from eventsourcing.sqlite import x",
                                  "import psycopg", "import sqlite3"])
def test_the_route_checker_catches_an_import_of_the_store(line: str) -> None:
    assert len(store_imports(line + "\n", "x.py", "api")) == 1
