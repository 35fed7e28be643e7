"""The pure core imports only the standard library and itself.

Only `domain/application.py` and `domain/persistence` (a module or a package) adapt the core to
the event store and may import third-party packages; every other module in `domain/` may not,
nor may it import those adapters (that would pull the store in through the back door).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
ADAPTERS = ("application.py", "persistence.py", "persistence/")  # files, or a whole package
ADAPTER_MODULES = ("domain.application", "domain.persistence")


def is_adapter(relative: str) -> bool:
    return any(relative == a or (a.endswith("/") and relative.startswith(a)) for a in ADAPTERS)


def imported_modules(source: str, filename: str) -> list[tuple[int, str]]:
    """(line, module) for every import in a module, wherever it sits (also inside functions
    and `if TYPE_CHECKING:` blocks). Relative imports are read as imports from `domain`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = "domain" + (f".{module}" if module else "")
            found.append((node.lineno, module))
            if module == "domain":  # `from domain import persistence`, `from . import x`
                found += [(node.lineno, f"domain.{a.name}") for a in node.names]
    return found


def forbidden_imports(source: str, filename: str) -> list[str]:
    """The imports a pure-core module may not have, as 'file:line module'."""
    bad = []
    for line, module in imported_modules(source, filename):
        top = module.partition(".")[0]
        adapter = any(module == m or module.startswith(m + ".") for m in ADAPTER_MODULES)
        allowed = top in sys.stdlib_module_names or top == "__future__" or (
            top == "domain" and not adapter)
        if not allowed:
            bad.append(f"{filename}:{line} {module}")
    return bad


PURE = sorted(p for p in DOMAIN.rglob("*.py") if not is_adapter(p.relative_to(DOMAIN).as_posix()))


@pytest.mark.parametrize("module", PURE, ids=lambda p: p.relative_to(DOMAIN).as_posix())
def test_pure_domain_modules_import_only_the_standard_library_and_domain(module: Path) -> None:
    assert forbidden_imports(module.read_text(encoding="utf-8"), module.name) == []


def test_the_pure_core_is_checked_at_all() -> None:
    names = {p.name for p in PURE}
    assert {"financing.py", "decide.py", "derive.py", "events.py", "state.py"} <= names


@pytest.mark.parametrize("line", [
    "import pydantic",
    "from pydantic import BaseModel",
    "import eventsourcing.persistence",
    "from domain import persistence",
    "from domain.application import Ledger",
    "from domain.persistence.log import EventLog",
    "from .persistence import EventLog",
    "def f():\n    import structlog",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import psycopg",
])
def test_the_checker_catches_a_third_party_import_added_to_financing(line: str) -> None:
    source = (DOMAIN / "financing.py").read_text(encoding="utf-8") + "\n" + line + "\n"
    assert len(forbidden_imports(source, "financing.py")) == 1


@pytest.mark.parametrize("line", [
    "import json",
    "from collections.abc import Mapping",
    "from domain.values import Outcome",
    "from domain import state",
    "from . import values",
    "import zoneinfo",
])
def test_the_checker_lets_standard_library_and_domain_imports_pass(line: str) -> None:
    assert forbidden_imports(line + "\n", "financing.py") == []
