"""Bulk import: a JSON-lines file of commands, all or nothing (docs/import-format.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api import imports
from api.deps import WRITE_PROBLEMS, IdempotencyKey, Importer, ServiceDep
from api.problems import Problem
from api.routes.common import fact_out, mark
from api.schemas.responses import ImportOut

router = APIRouter(tags=["imports"])

NDJSON = "application/x-ndjson"
EXAMPLE = (
    '{"command": "RegisterCompany", "args": {"company_id": "astrazeneca", "name": '
    '"AstraZeneca AS", "registered_on": "2021-01-04"}}\n'
)


async def ndjson_body(request: Request) -> str:
    kind = request.headers.get("content-type", NDJSON).split(";")[0].strip().lower()
    if kind not in (NDJSON, "application/jsonl", "application/json-lines", "text/plain"):
        raise Problem(415, "unsupported-media-type",
                      f"send the file as {NDJSON} (one JSON command per line)")
    raw = await request.body()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "malformed-json", "the file is not UTF-8 text") from None


@router.post(
    "/v1/imports", status_code=201, response_model=ImportOut,
    responses={**WRITE_PROBLEMS, 415: {"model": WRITE_PROBLEMS[422]["model"],
                                       "description": "Not sent as JSON lines."}},
    summary="Import history: JSON lines of commands, all or nothing",
    description="One command per line: `{\"command\": \"EnrolPatient\", \"args\": {...}}` "
                "(docs/import-format.md). If any line is bad nothing is recorded, and the "
                "problem lists the first 100 bad lines by number (`lines`) and counts them all "
                "(`errors`). The same file imported again answers 409 "
                "`import-already-recorded`. Role `migration` may import any command; other "
                "roles only the commands they may record.",
    openapi_extra={"requestBody": {"required": True, "content": {
        NDJSON: {"schema": {"type": "string"}, "example": EXAMPLE}}}},
)
def import_file(text: Annotated[str, Depends(ndjson_body)], actor: Importer, service: ServiceDep,
                key: IdempotencyKey, response: Response, request: Request) -> ImportOut:
    base = request.app.state.settings.problem_base_uri
    try:
        receipt, lines_count = imports.run(service, text, actor, key)
    except imports.ImportFailed as failed:
        lines = [{"line": e.line, "command": e.command, "type": base + e.slug,
                  "detail": e.detail} for e in failed.listed]
        raise Problem(422, "import-refused", failed.summary(),
                      extra={"lines": lines, "errors": len(failed.errors)}) from None
    except imports.AlreadyImported as landed:
        raise Problem(409, "import-already-recorded", str(landed),
                      extra={"first_position": landed.first_position,
                             "last_position": landed.last_position}) from None
    receipt = mark(receipt, response)
    return ImportOut(lines=lines_count, position=receipt.position,
                     facts=[fact_out(f) for f in receipt.facts])
