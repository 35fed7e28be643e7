"""Agreements with companies: signing, drug contributions (patient slots), amendments."""

from __future__ import annotations

from fastapi import APIRouter

from application import queries
from application.access import PROCUREMENT
from api.deps import READ_PROBLEMS, AgreementId, PartiesReader, ServiceDep
from api.routes.common import post_command
from api.routes.present import agreement_out
from api.schemas.requests import AgreementIn, AmendmentIn, ContributionIn
from api.schemas.responses import AgreementOut

router = APIRouter(tags=["agreements"])

post_command(router, "/v1/agreements", AgreementIn, [PROCUREMENT],
             summary="Sign an agreement with a company",
             description="The per-patient grant carries its currency; coverage weeks are the "
                         "company's share of an expansion patient's treatment (default 16).")


@router.get("/v1/agreements", response_model=list[AgreementOut], responses=READ_PROBLEMS,
            summary="Agreements (a partner sees only its own)")
def agreements(actor: PartiesReader, service: ServiceDep) -> list[AgreementOut]:
    return [agreement_out(a) for a in queries.agreements(service, actor)]


@router.get("/v1/agreements/{agreement_id}", response_model=AgreementOut,
            responses=READ_PROBLEMS, summary="One agreement: terms over time, slots used")
def agreement(agreement_id: AgreementId, actor: PartiesReader,
              service: ServiceDep) -> AgreementOut:
    return agreement_out(queries.agreement(service, actor, agreement_id))


post_command(router, "/v1/agreements/{agreement_id}/contributions", ContributionIn, [PROCUREMENT],
             summary="The company contributes a drug for a number of patient slots")
post_command(router, "/v1/agreements/{agreement_id}/amendments", AmendmentIn, [PROCUREMENT],
             summary="Amend an agreement's terms from a date")
