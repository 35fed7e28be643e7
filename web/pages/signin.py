"""Signing in and out, and the language switch.

Development (`serve --dev`, IMPRESS_AUTH_MODE=dev): pick a role and an organisation, the same
roles and tenancy as `impress-ledger token` gives the API. Production: the OpenID Connect
authorization code flow with PKCE at the configured issuer (web.oidc).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from api.problems import Problem
from application import access, queries
from domain.values import Actor
from web.i18n import LANGUAGES, N_
from web.oidc import OAuthError, OidcSignIn
from web.pages.common import ServiceDep, local_path
from web.render import page
from web.session import LANG, CheckedForm, sign_in, sign_out

router = APIRouter()
# migration only imports, the scheduler only ticks: neither reads a page
DEV_ROLES = tuple(r for r in access.ROLES if r not in (access.MIGRATION, access.SCHEDULER))
UNSCOPED_ORGANISATION = "impress"  # as `impress-ledger token` names it


def _oidc(request: Request) -> OidcSignIn:
    oidc: OidcSignIn = request.app.state.oidc
    return oidc


def organisations(service: ServiceDep) -> dict[str, list[tuple[str, str]]]:
    """What a dev sign-in may pick: every company for a partner, every RHF for a finance
    officer."""
    trusts = queries.health_trusts(service)
    rhfs = sorted({(t.rhf_id, t.rhf_name) for t in trusts})
    auditor = Actor(subject="dev", role=access.AUDITOR, organisation=UNSCOPED_ORGANISATION)
    companies = sorted((c.company_id, c.name or c.company_id)
                       for c in queries.companies(service, auditor))
    return {access.PARTNER: companies, access.RHF_FINANCE: rhfs}


@router.get("/sign-in")
def sign_in_page(request: Request, service: ServiceDep,
                 next: Annotated[str | None, Query()] = None) -> Response:  # noqa: A002
    mode = request.app.state.settings.auth_mode
    return page(request, "pages/sign_in.html", mode=mode, roles=DEV_ROLES,
                organisations=organisations(service) if mode == "dev" else {},
                oidc_ready=_oidc(request).configured, next=local_path(next), error=None)


@router.post("/sign-in")
def dev_sign_in(request: Request, form: CheckedForm, service: ServiceDep) -> Response:
    if request.app.state.settings.auth_mode != "dev":
        raise Problem(404, "not-found", "development sign-in is off")
    role, org = str(form.get("role", "")), str(form.get("organisation", ""))
    choices = organisations(service)
    error = None
    if role not in DEV_ROLES:
        error = N_("Choose a role.")
    elif role in choices and org not in {o for o, _ in choices[role]}:
        error = N_("Choose the organisation this role acts for.")
    if error:
        return page(request, "pages/sign_in.html", 422, mode="dev", roles=DEV_ROLES,
                    organisations=choices, oidc_ready=False,
                    next=local_path(str(form.get("next", ""))), error=error)
    organisation = org if role in choices else UNSCOPED_ORGANISATION
    sign_in(request, Actor(subject=f"dev:{role}:{organisation}", role=role,
                           organisation=organisation))
    return RedirectResponse(local_path(str(form.get("next", ""))), status_code=303)


@router.get("/sign-in/oidc")
async def oidc_start(request: Request) -> Response:
    oidc = _oidc(request)
    if not oidc.configured:
        raise Problem(503, "sign-in-not-configured", "sign-in needs IMPRESS_OIDC_ISSUER and "
                      "IMPRESS_OIDC_CLIENT_ID")
    return await oidc.redirect(request, str(request.url_for("oidc_callback")))


Param = Annotated[str | None, Query(max_length=4096)]


@router.get("/sign-in/callback")
async def oidc_callback(request: Request, code: Param = None, state: Param = None,
                        error: Param = None, error_description: Param = None, iss: Param = None,
                        session_state: Param = None, scope: Param = None) -> Response:
    """The issuer's answer: Authlib reads the parameters itself (they are declared here
    because the app refuses query parameters an operation does not name)."""
    oidc = _oidc(request)
    if not oidc.configured:
        raise Problem(404, "not-found", "no issuer is configured")
    try:
        actor = await oidc.actor(request)
    except OAuthError as e:
        raise Problem(401, "sign-in-failed", f"the issuer's answer was refused: {e.error}") from None
    sign_in(request, actor)
    return RedirectResponse("/", status_code=303)


@router.post("/sign-out")
async def sign_out_now(request: Request, form: CheckedForm) -> Response:
    sign_out(request)
    target = await _oidc(request).end_session_url()
    return RedirectResponse(target or "/sign-in", status_code=303)


@router.post("/language")
def switch_language(request: Request, form: CheckedForm) -> Response:
    lang = str(form.get("lang", ""))
    if lang in LANGUAGES:
        request.session[LANG] = lang
    return RedirectResponse(local_path(str(form.get("next", ""))), status_code=303)
