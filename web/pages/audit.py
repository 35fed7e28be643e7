"""The auditor's page: the chain's current digest (copyable), verification against a pasted
digest, replay as of a moment, and a patient's history export. The same functions as the API's
/v1/audit routes and `impress-ledger audit` (audit.*)."""

from __future__ import annotations

import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.problems import Problem
from application import access
from audit import history as audit_history
from audit import verify as audit
from audit.replay import replay
from domain import checks
from domain.values import Actor
from web.pages.common import ServiceDep, day, moment, position
from web.render import page, partial
from web.session import CheckedForm, SignedIn

router = APIRouter()
Text = Annotated[str | None, Query(max_length=64)]


def _auditor(actor: Actor) -> None:
    if actor.role not in access.READ_LOG:
        raise Problem(403, "forbidden", f"the role {actor.role} does not audit the log")


@router.get("/audit")
def audit_page(request: Request, actor: SignedIn, service: ServiceDep, at: Text = None,
               known_at: Text = None, on: Text = None) -> Response:
    _auditor(actor)
    digest = audit.digest(service.ledger.log)
    shown = None
    if at or known_at:
        asked = moment(known_at)
        shown = replay(service.ledger, service.ledger.position(asked, position(at)),
                       moment=asked, on=day(on, "the date") or service.ledger.clock())
    context = {"digest": digest, "digest_json": json.dumps(digest.to_dict()),
               "replayed": shown, "asked": {"at": at or "", "known_at": known_at or "",
                                            "on": on or ""}}
    if partial(request) and request.headers.get("hx-target") == "replay":
        return page(request, "partials/replay.html", actor=actor, **context)
    return page(request, "pages/audit.html", actor=actor, verification=None, error=None,
                pasted="", **context)


@router.post("/audit/verify")
def verify(request: Request, actor: SignedIn, service: ServiceDep, form: CheckedForm) -> Response:
    """Recompute the chain; with a pasted digest, prove the history up to it unchanged."""
    _auditor(actor)
    pasted = str(form.get("digest", "")).strip()
    error, result = None, None
    try:
        digests = audit.parse_digests(pasted) if pasted else []
        result = audit.verify(service.ledger.log, digests)
    except audit.BadDigest as e:
        error = str(e)
    context = {"verification": result, "error": error, "pasted": pasted}
    if partial(request):
        return page(request, "partials/verification.html", actor=actor, **context)
    digest = audit.digest(service.ledger.log)
    return page(request, "pages/audit.html", actor=actor, digest=digest,
                digest_json=json.dumps(digest.to_dict()), replayed=None,
                asked={"at": "", "known_at": "", "on": ""}, **context)


@router.get("/audit/patients/{patient_id}/history")
def patient_export(actor: SignedIn, service: ServiceDep, patient_id: str,
                   fmt: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "csv",
                   ) -> Response:
    _auditor(actor)
    rows = audit_history.history(service.ledger.log, audit_history.Subject.PATIENT,
                                 checks.study_id(patient_id))
    out = io.StringIO()
    audit_history.write(rows, fmt, out)
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"
    name = f"patient-{patient_id}-history.{fmt}"
    return Response(out.getvalue(), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/audit/export")
def export_form(actor: SignedIn, patient: Annotated[str, Query(max_length=20)],
                fmt: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "csv",
                ) -> Response:
    """The export form's target: to the patient's export (a GET form cannot build a path)."""
    _auditor(actor)
    from starlette.responses import RedirectResponse

    return RedirectResponse(f"/audit/patients/{checks.study_id(patient.strip())}/history"
                            f"?format={fmt}", status_code=303)
