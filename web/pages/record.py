"""Recording, for the trial office: enrolment, treatment start, assessment, dispensation, end,
transfer and each correction, through the same write service as the API.

Each rendered form carries its own idempotency key, so a double submit records once (the second
answers with the first's receipt). A refusal shows the ledger's message by the field it concerns
and records nothing. After recording, the browser is sent to the patient's page (POST, redirect,
GET), which says what was recorded.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from api.problems import Problem
from application import access, queries
from api.served import Served as Service
from application.ledger import CommandsRefused
from domain import checks
from domain import errors as err
from domain.values import Actor
from web.forms import FORMS, RecordForm, field_errors
from web.pages.common import ServiceDep
from web.render import page
from web.session import CheckedForm, SignedIn

router = APIRouter()


def _trial_office(actor: Actor) -> None:
    if actor.role != access.TRIAL_OFFICE:
        raise Problem(403, "forbidden", f"the role {actor.role} does not record patient facts")


def _form(slug: str, patient_id: str | None) -> RecordForm:
    form = FORMS.get(slug)
    if form is None or form.for_patient != (patient_id is not None):
        raise Problem(404, "not-found", "no such form")
    return form


@router.get("/record")
def record_index(request: Request, actor: SignedIn, service: ServiceDep) -> Response:
    _trial_office(actor)
    return page(request, "pages/record.html", actor=actor, forms=FORMS)


@router.get("/record/enrolment")
def enrolment_form(request: Request, actor: SignedIn, service: ServiceDep) -> Response:
    _trial_office(actor)
    return _render(request, service, actor, _form("enrolment", None), None, {}, {})


@router.get("/record/go")
def go(actor: SignedIn, patient: str = "", form: str = "") -> Response:
    """The picker's target: a GET form cannot build the form's path itself."""
    _trial_office(actor)
    if form not in FORMS or not FORMS[form].for_patient:
        raise Problem(404, "not-found", "no such form")
    return RedirectResponse(f"/record/{checks.study_id(patient)}/{form}", status_code=303)


@router.get("/record/{patient_id}")
def patient_forms(request: Request, patient_id: str, actor: SignedIn,
                  service: ServiceDep) -> Response:
    _trial_office(actor)
    return page(request, "pages/record.html", actor=actor, forms=FORMS,
                patient=queries.patient(service, actor, patient_id))


@router.get("/record/{patient_id}/{slug}")
def patient_form(request: Request, patient_id: str, slug: str, actor: SignedIn,
                 service: ServiceDep) -> Response:
    _trial_office(actor)
    queries.patient(service, actor, patient_id)
    return _render(request, service, actor, _form(slug, patient_id), patient_id, {}, {})


@router.post("/record/enrolment")
def enrol(request: Request, actor: SignedIn, service: ServiceDep, form: CheckedForm) -> Response:
    _trial_office(actor)
    return _record(request, service, actor, _form("enrolment", None), None, form)


@router.post("/record/{patient_id}/{slug}")
def record(request: Request, patient_id: str, slug: str, actor: SignedIn, service: ServiceDep,
           form: CheckedForm) -> Response:
    _trial_office(actor)
    queries.patient(service, actor, patient_id)
    return _record(request, service, actor, _form(slug, patient_id), patient_id, form)


def _record(request: Request, service: Service, actor: Actor, spec: RecordForm,
            patient_id: str | None, form: Any) -> Response:
    values = {f.name: str(form.get(f.name, "")) for f in spec.fields}
    key = str(form.get("idempotency_key", ""))
    try:
        body = spec.body_of(form)
        command = body.command(**({"patient_id": patient_id} if patient_id else {}))
        receipt = service.record([command], actor, key or None)
    except ValidationError as e:
        return _render(request, service, actor, spec, patient_id, values, field_errors(spec, e))
    except (err.Refused, CommandsRefused) as e:
        refusal = e.refusals[0][1] if isinstance(e, CommandsRefused) else e
        field = spec.field_of(refusal) or ""
        return _render(request, service, actor, spec, patient_id, values,
                       {field: refusal.message})
    target = patient_id or getattr(command, "patient_id", "")
    # the patient's page waits (bounded) for the read models to reach what is recorded
    return RedirectResponse(f"/patients/{target}?recorded={receipt.position}"
                            f"&replayed={int(receipt.replayed)}", status_code=303)


def _render(request: Request, service: Service, actor: Actor, spec: RecordForm,
            patient_id: str | None, values: dict[str, str], errors: dict[str, str]) -> Response:
    return page(request, "pages/record_form.html", 422 if errors else 200, actor=actor,
                spec=spec, patient_id=patient_id, values=values, errors=errors,
                choices=_choices(service, actor, patient_id),
                idempotency_key=str(uuid.uuid4()))


def _choices(service: Service, actor: Actor, patient_id: str | None) -> dict[str, Any]:
    trusts = sorted(queries.health_trusts(service), key=lambda t: (t.rhf_name, t.name))
    out: dict[str, Any] = {
        "trusts": [(t.hf_id, f"{t.name} ({t.rhf_name})") for t in trusts],
        "cohorts": [(c.cohort_id, c.cohort_id) for c in queries.cohorts(service, actor)
                    if c.closed is None],
        "dispensations": [],
    }
    if patient_id:
        p = queries.patient(service, actor, patient_id)
        out["dispensations"] = [(d.ref, f"{d.dispensed_on} · {d.packs} · {d.ref}")
                                for d in p.dispensations]
    return out

