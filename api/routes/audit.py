"""The auditor's toolkit over HTTP (role `auditor` only): the chain's digest, verification,
history exports and replay as of a moment. The same functions as `impress-ledger audit`
(audit.verify*); docs/auditing.md and docs/adr/0010 say what they prove."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from api import deps
from api.deps import READ_PROBLEMS, AgreementId, Auditor, CohortId, PatientId, ServiceDep
from api.problems import Problem
from api.routes.whopays import KnownAt, Position
from api.schemas.responses import Out
from api.schemas.types import Day
from domain import chain
from domain.values import Actor
from audit import verify as audit
from audit import history as audit_history
from audit.replay import replay
from reports.statements import Period
from domain.statements.public import By
from reports.statements_restate import StatementKind

router = APIRouter(tags=["audit"])

HASH_PATTERN = r"^[0-9a-f]{64}$"
NDJSON, CSV = "application/x-ndjson", "text/csv"


class DigestOut(Out):
    chain: str = Field(examples=[chain.CHAIN], description="The chain's algorithm (ADR 0010).")
    position: int = Field(examples=[979])
    hash: str = Field(pattern=HASH_PATTERN, description="h(position), hex.")
    recorded_at: str | None = Field(description="When the fact at `position` was recorded, UTC; "
                                    "null for position 0 (the empty log).",
                                    examples=["2025-03-03T09:15:02.123456Z"])


class DifferenceOut(Out):
    position: int = Field(description="The first position where the history differs.")
    kind: str = Field(examples=["changed"], description=", ".join(k.value for k in audit.Kind))
    detail: str
    range: list[int] | None = Field(default=None, description="When the position cannot be "
                                    "pinned (a rewrite with the chain recomputed): [from, to].")


class DigestCheckOut(DigestOut):
    matches: bool | None = Field(description="null: not reached (the chain broke before it).")


class VerificationOut(Out):
    ok: bool
    checked: int = Field(description="Positions 1..checked form an unbroken chain.")
    last_position: int
    head: DigestOut = Field(description="The recomputed chain at `checked`.")
    tree_root: str = Field(pattern=HASH_PATTERN, description="The recomputed Merkle tree's root "
                           "at `checked` (ADR 0019): a signed tree head of that size must "
                           "carry it.")
    first_difference: DifferenceOut | None
    digests: list[DigestCheckOut]
    seconds: float


class ReplayOut(Out):
    as_of: dict[str, Any] = Field(description="The log position replayed, its chain digest, "
                                  "and the moment asked (if any).")
    on: str | None = None
    payers: list[dict[str, Any]] | None = Field(default=None, description="With `on`: who paid "
                                                "for every patient on that date.")
    timelines: list[dict[str, Any]] | None = Field(default=None, description="Without `on`: "
                                                   "every patient's payers over time.")
    statements: list[dict[str, Any]]


EXPORTS: dict[int | str, dict[str, Any]] = {200: {
    "description": "JSON lines (one fact per line) or CSV.", "content": {
    NDJSON: {"schema": {"type": "string"}}, CSV: {"schema": {"type": "string"}}}}}
Format = Annotated[Literal["jsonl", "csv"], Query(alias="format",
                                                  description="jsonl (default) or csv.")]


@router.get("/v1/audit/digest", response_model=DigestOut, responses=READ_PROBLEMS,
            summary="The hash chain's digest: save it outside the system",
            description="(position, h(position), recorded time). Later, `verify` with the saved "
                        "digest proves that the history up to it was not rewritten.")
def get_digest(actor: Auditor, service: ServiceDep, position: Annotated[int | None, Query(
        ge=0, le=2**53, description="An earlier position (default: the head).")] = None,
               ) -> DigestOut:
    try:
        found = audit.digest(service.ledger.log, position)
    except ValueError as e:
        raise Problem(404, "not-found", str(e)) from None
    return DigestOut(**found.to_dict())


@router.get("/v1/audit/verify", response_model=VerificationOut, responses=READ_PROBLEMS,
            summary="Recompute the hash chain and name the first position where history differs",
            description="Give a saved digest (`position` and `hash`) to check the history up to "
                        "it was not rewritten. `ok` false names the first difference.")
def get_verify(actor: Auditor, service: ServiceDep,
               position: Annotated[int | None, Query(ge=0, le=2**53)] = None,
               hash: Annotated[str | None, Query(pattern=HASH_PATTERN)] = None,  # noqa: A002
               ) -> VerificationOut:
    if (position is None) != (hash is None):
        raise Problem(422, "invalid-request", "a digest is a position and a hash: give both")
    digests = []
    if position is not None and hash is not None:
        try:
            digests = [audit.Digest.from_dict({"position": position, "hash": hash})]
        except audit.BadDigest as e:
            raise Problem(422, "invalid-request", str(e)) from None
    result = audit.verify(service.ledger.log, digests).to_dict()
    result["digests"] = [DigestCheckOut(**d) for d in result["digests"]]
    return VerificationOut(**result)


def _export(service: Any, actor: Actor, subject: audit_history.Subject, identifier: str,
            fmt: str) -> Response:
    rows = audit_history.history(service.ledger.log, subject, identifier)
    out = io.StringIO()
    audit_history.write(rows, fmt, out)
    text = service.view(actor).scrub_text(out.getvalue())  # the one tenancy rule, as everywhere
    media = NDJSON if fmt == "jsonl" else CSV
    name = f"{subject.value}-{identifier}-history.{fmt}"
    return Response(text, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/v1/audit/patients/{patient_id}/history", response_class=Response,
            responses={**EXPORTS, **READ_PROBLEMS},
            summary="Export every fact about a patient (JSON lines or CSV)",
            description="Recorded time, actor, and links: `corrects`/`corrected_by`, "
                        "`retracts`/`retracted_by`, `basis`. Data as stored, with its schema.")
def patient_export(patient_id: PatientId, actor: Auditor, service: ServiceDep,
                   fmt: Format = "jsonl") -> Response:
    return _export(service, actor, audit_history.Subject.PATIENT, patient_id, fmt)


@router.get("/v1/audit/cohorts/{cohort_id}/history", response_class=Response,
            responses={**EXPORTS, **READ_PROBLEMS},
            summary="Export every fact about a cohort (JSON lines or CSV)")
def cohort_export(cohort_id: CohortId, actor: Auditor, service: ServiceDep,
                  fmt: Format = "jsonl") -> Response:
    return _export(service, actor, audit_history.Subject.COHORT, cohort_id, fmt)


@router.get("/v1/audit/agreements/{agreement_id}/history", response_class=Response,
            responses={**EXPORTS, **READ_PROBLEMS},
            summary="Export every fact about an agreement (JSON lines or CSV)")
def agreement_export(agreement_id: AgreementId, actor: Auditor, service: ServiceDep,
                     fmt: Format = "jsonl") -> Response:
    return _export(service, actor, audit_history.Subject.AGREEMENT, agreement_id, fmt)


@router.get("/v1/audit/replay", response_model=ReplayOut, responses=READ_PROBLEMS,
            summary="Who paid, and the statements, exactly as the ledger answered at moment K",
            description="As of `known_at` (the last fact recorded by then) or `position`; "
                        "with `on`, who paid for every patient that day, else every timeline; "
                        "with `statement` and `from`/`to`, the statements as they were then.")
def get_replay(
    actor: Auditor, service: ServiceDep, known_at: KnownAt = None, position: Position = None,
    on: Annotated[Day | None, Query(description="Who paid on this date.")] = None,
    statement: Annotated[list[StatementKind] | None, Query()] = None,
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
    by: Annotated[By, Query()] = By.QUARTER,
) -> ReplayOut:
    if known_at is not None and position is not None:
        raise Problem(422, "invalid-request", "give known_at or position, not both")
    if statement and (start is None or end is None or end < start):
        raise Problem(422, "invalid-request", "a statement needs a period: from <= to")
    moment: datetime | None = deps.moment(known_at, "known_at")
    ledger = service.ledger
    at = ledger.position(moment, position)
    period = Period(start, end) if start is not None and end is not None and end >= start else None
    result = replay(ledger, at, moment=moment, on=on, statements=list(dict.fromkeys(
        statement or [])), period=period, by=by)
    return ReplayOut(**service.view(actor).scrub(result.to_dict()))
