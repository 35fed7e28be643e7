"""Templates: one Jinja2 environment per language (gettext installed from its catalogue), and
the context every page gets: who is signed in, the form token, the language, Babel's formats,
and the navigation for the actor's role."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from application import access
from domain.values import Actor
from domain.statements.text import totals_dict
from web.i18n import LANGUAGES, Formats, N_, translations
from web.picture import KIND_LABELS as PAYER_KINDS
from web.session import csrf_token, lang_of, signed_in

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"],
                      trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["decimal"] = lambda value: Decimal(str(value))
    env.filters["totals_dict"] = totals_dict
    env.globals.update(kind_names={k.value: v for k, v in PAYER_KINDS.items()},
                       stage_names=STAGE_NAMES, role_names=ROLE_NAMES,
                       outcome_names=OUTCOME_NAMES, end_names=END_NAMES, fact_anchor=fact_anchor)
    return env


OUTCOME_NAMES = {
    "objective_response": N_("Objective response"), "stable_disease": N_("Stable disease"),
    "progressive_disease": N_("Progressive disease"), "not_evaluable": N_("Not evaluable"),
}
END_NAMES = {
    "progression": N_("Progression"), "toxicity": N_("Toxicity"),
    "patient_choice": N_("Patient's choice"), "death": N_("Death"),
    "completed": N_("Completed"), "other": N_("Other reason"),
}
STAGE_NAMES = {0: N_("Not opened"), 1: N_("Stage 1"), 2: N_("Stage 2"), 3: N_("Expansion")}
ROLE_NAMES = {
    access.TRIAL_OFFICE: N_("Trial office"), access.PROCUREMENT: N_("Hospital procurement"),
    access.DECISION_FORUM: N_("Decision forum"), access.RHF_FINANCE: N_("RHF finance officer"),
    access.PARTNER: N_("Pharma partner"), access.AUDITOR: N_("Auditor"),
    access.MIGRATION: N_("Migration"),
}


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str  # a msgid


def navigation(actor: Actor | None) -> list[NavItem]:
    if actor is None:
        return []
    role = actor.role
    items = [NavItem("/", N_("Overview"))]
    if role in access.READ_PATIENTS:
        items.append(NavItem("/patients", N_("Patients")))
    if role in access.READ_PARTIES:
        items.append(NavItem("/cohorts", N_("Cohorts")))
    if role in access.READ_STATEMENTS:
        items.append(NavItem("/statements", N_("Statements")))
    if role in access.READ_WORKLISTS:
        items.append(NavItem("/worklist", N_("Worklist")))
    if role == access.TRIAL_OFFICE:
        items.append(NavItem("/record", N_("Record")))
    if role in access.READ_LOG:
        items.append(NavItem("/audit", N_("Audit")))
    return items


def fact_anchor(ref: str) -> str:
    """The id of a fact's row in a facts table: 'patient/IMP-0030@4' -> fact-patient-IMP-0030-4."""
    stream, _, version = ref.rpartition("@")
    return f"fact-{stream.replace('/', '-')}-{version}"


def page(request: Request, template: str, status: int = 200, /, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    actor = context.pop("actor", None) or signed_in(request)
    html = environment(lang).get_template(template).render(
        request=request, actor=actor, csrf=csrf_token(request), lang=lang,
        languages=LANGUAGES, fmt=Formats(lang), nav=navigation(actor),
        path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={"Vary": "HX-Request, Cookie"})


def partial(request: Request) -> bool:
    """An htmx request that asks for one part of the page."""
    return request.headers.get("hx-request") == "true"
