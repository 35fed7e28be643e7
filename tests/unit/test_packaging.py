"""What `make run` installs: the runtime dependencies only, every one pinned (indirect ones by
requirements.lock, made by `make lock`), with the time zone database Oslo time needs; the tests
and tools get requirements-dev.lock on top."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = ("pytest", "hypothesis", "schemathesis", "ruff", "mypy", "playwright",
            "matplotlib", "pip-tools")


def pins(text: str) -> dict[str, str]:
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", text, re.M)}


def declared(group: str | None = None) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return pins("\n".join(re.sub(r"\[.*?\]", "", s) for s in specs))


def test_every_dependency_is_pinned_exactly_and_tzdata_is_one_at_run_time() -> None:
    runtime = declared()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert len(runtime) == len(project["dependencies"])  # every one with ==
    assert "tzdata" in runtime


def test_the_locks_hold_the_declared_pins_and_the_runtime_lock_no_tool() -> None:
    runtime = pins((ROOT / "requirements.lock").read_text())
    dev = pins((ROOT / "requirements-dev.lock").read_text())
    assert declared().items() <= runtime.items()
    assert (declared() | declared("dev")).items() <= dev.items()
    assert not set(DEV_ONLY) & set(runtime)
    assert {k: dev[k] for k in runtime} == runtime  # one version of each, running or testing
    assert len(runtime) < len(dev)


def test_make_run_installs_only_the_runtime_lock_and_make_test_the_dev_lock() -> None:
    def dry(target: str) -> str:
        return subprocess.run(["make", "-n", target, "VENV=/nonexistent/venv"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=True).stdout

    run = dry("run")
    assert "pip install -q -c requirements.lock -e ." in run and "[dev]" not in run
    assert "pip install -q -c requirements-dev.lock -e '.[dev]'" in dry("venv")
    assert "pip-compile" in dry("lock")
