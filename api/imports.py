"""Bulk import of history: JSON lines of commands, all or nothing per file (docs/import-format.md).

Every bad line is found and counted, and the first LISTED reported by number: lines that are
not JSON, that name no known command or whose args break the schema, and commands the ledger
refuses, together. Lines end at line feeds only; a byte-order mark is ignored. A file whose
commands were imported already (same fingerprint) is refused as such (AlreadyImported). A command refused
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
from application.idempotency import fingerprint
from application.writer import Writer
from application.ledger import CommandsRefused, Progress, Receipt
from domain import errors as err
from domain import commands as c
from domain.identity import find_national_id
from domain.values import Actor

MAX_LINES = 100_000
LISTED = 100
"""At most this many bad lines are listed (the answer counts them all): a file of 110 000 bad
lines must not answer with megabytes."""
BOM = "\ufeff"


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

    @property
    def listed(self) -> list[LineError]:
        return self.errors[:LISTED]

    def summary(self) -> str:
        more = f"; the first {LISTED} are listed" if len(self.errors) > LISTED else ""
        return f"{len(self.errors)} bad lines of {self.lines}{more}; nothing was recorded"


class AlreadyImported(Exception):
    """The same commands (the same fingerprint) were imported before: nothing is recorded."""

    def __init__(self, first_position: int, last_position: int) -> None:
        super().__init__(f"this file was imported already (log positions {first_position} to "
                         f"{last_position}); nothing was recorded")
        self.first_position = first_position
        self.last_position = last_position


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
    # Lines end at line feeds only: U+2028, U+0085 and the like are text inside a JSON string
    # (str.splitlines would cut there). A byte-order mark before line 1 is not part of it.
    for number, raw in enumerate(lines_of(text), start=1):
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


def lines_of(text: str) -> list[str]:
    return text.removeprefix(BOM).split("\n")


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


def _implicit_key(commands: list[c.Command]) -> str:
    """An import without an Idempotency-Key is keyed by its content, so that a re-run of the
    same file is recognised (by any importer) instead of refused line by line."""
    return "import:" + fingerprint(commands)


def _not_imported_yet(writer: Writer, commands: list[c.Command], actor: Actor,
                      key: str | None) -> None:
    if key is not None and writer.ledger.keys.lookup(actor, key) is not None:
        return  # a retry with its own key: replayed by the ledger
    landed = writer.ledger.keys.landed(fingerprint(commands))
    if landed is not None:
        raise AlreadyImported(landed.first_position, landed.last_position)


def run(service: Writer, text: str, actor: Actor, key: str | None = None,
        progress: Progress | None = None) -> tuple[Receipt, int]:
    """Record every command of the file at once (the result, and how many commands), or raise
    ImportFailed with every bad line."""
    parsed = parse(text)
    if parsed.lines == 0:
        raise ImportFailed([LineError(0, None, "invalid-request", "the file holds no commands")], 0)
    errors = list(parsed.errors)
    try:
        if errors:
            refusals = service.refusals(parsed.commands, actor)
        else:
            _not_imported_yet(service, parsed.commands, actor, key)
            chosen = key or _implicit_key(parsed.commands)
            return (service.record(parsed.commands, actor, chosen, progress=progress),
                    parsed.lines)
    except CommandsRefused as refused:
        refusals = refused.refusals
    except err.Refused as one:  # a file of one command
        refusals = [(0, one)]
    for index, refusal in refusals:
        problem = from_refusal(refusal)
        errors.append(LineError(parsed.numbers[index], parsed.names[index], problem.slug,
                                problem.detail))
    raise ImportFailed(sorted(errors, key=lambda e: e.line), parsed.lines)
