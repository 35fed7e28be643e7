"""Bulk import of history: JSON lines of commands, all or nothing per file (docs/import-format.md).

Every bad line is reported by its number: lines that are not JSON, that name no known command
or whose args break the schema, and commands the ledger refuses, together. A command refused
only because an earlier bad line was left out (a treatment start of an enrolment that failed)
is reported too. Nothing is recorded unless every line is good.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from api.problems import CONTROL, from_refusal
from api.schemas.types import CONTROL_CHARACTER
from api.schemas import IMPORT_ARGS
from application.service import ImportRefused, Recorded, Service
from domain import commands as c
from domain.identity import find_national_id
from domain.values import Actor

MAX_LINES = 100_000


@dataclass(frozen=True)
class LineError:
    line: int
    command: str | None
    slug: str
    detail: str


class ImportFailed(Exception):
    def __init__(self, errors: list[LineError], lines: int) -> None:
        super().__init__(f"{len(errors)} of {lines} lines refused; nothing was recorded")
        self.errors = errors
        self.lines = lines


@dataclass(frozen=True)
class Parsed:
    commands: list[c.Command]
    numbers: list[int]  # the line number of each command
    names: list[str]
    errors: list[LineError]
    lines: int


def parse(text: str) -> Parsed:
    commands: list[c.Command] = []
    numbers: list[int] = []
    names: list[str] = []
    errors: list[LineError] = []
    count = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        count += 1
        if count > MAX_LINES:
            errors.append(LineError(number, None, "too-many-lines",
                                    f"an import holds at most {MAX_LINES} commands; split the file"))
            break
        name, parsed = _line(number, raw)
        if isinstance(parsed, LineError):
            errors.append(parsed)
        else:
            commands.append(parsed)
            numbers.append(number)
            names.append(name or "")
    return Parsed(commands, numbers, names, errors, count)


def _line(number: int, raw: str) -> tuple[str | None, c.Command | LineError]:
    try:
        item: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return None, LineError(number, None, "malformed-json", "the line is not one JSON object")
    if not isinstance(item, dict) or set(item) != {"command", "args"}:
        return None, LineError(number, None, "invalid-request",
                               'each line is {"command": "...", "args": {...}} and nothing else')
    name = item["command"]
    if not isinstance(name, str) or name not in IMPORT_ARGS:
        return None, LineError(number, None, "unknown-command",
                               "unknown command; see docs/import-format.md for the list")
    found = find_national_id(item)
    if found is not None:
        return name, LineError(number, name, "national-identity-number",
                               f"field '{found}' looks like a national identity number")
    try:
        args = IMPORT_ARGS[name].model_validate(item["args"])
        return name, args.command()
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in x['loc']) or 'args'}: {x['msg']}"
                             for x in e.errors()[:5])
        control = any(x["type"] == CONTROL_CHARACTER for x in e.errors())
        return name, LineError(number, name, CONTROL if control else "invalid-request", problems)
    except ValueError as e:  # money that cannot be money
        return name, LineError(number, name, "invalid-request", str(e))


def run(service: Service, text: str, actor: Actor,
        key: str | None = None) -> tuple[Recorded, int]:
    """Record every command of the file at once (the result, and how many commands), or raise
    ImportFailed with every bad line."""
    parsed = parse(text)
    if parsed.lines == 0:
        raise ImportFailed([LineError(0, None, "invalid-request", "the file holds no commands")], 0)
    errors = list(parsed.errors)
    try:
        if errors:
            refusals = service.check_all(parsed.commands, actor)
        else:
            return service.execute_all(parsed.commands, actor, key), parsed.lines
    except ImportRefused as refused:
        refusals = refused.refusals
    for index, refusal in refusals:
        problem = from_refusal(refusal)
        errors.append(LineError(parsed.numbers[index], parsed.names[index], problem.slug,
                                problem.detail))
    raise ImportFailed(sorted(errors, key=lambda e: e.line), parsed.lines)
