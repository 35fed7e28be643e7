"""Reference data: health trusts, companies, drugs, prices, introduction decisions."""

from __future__ import annotations

from fastapi import APIRouter

from application import queries
from application.access import DECISION_FORUM, PROCUREMENT
from api.deps import READ_PROBLEMS, CompanyId, DrugId, ReferenceReader, ServiceDep
from api.routes.common import post_command
from api.routes.present import company_out, drug_out
from api.schemas.requests import CompanyIn, DrugIn, IntroductionDecisionIn, PriceIn
from api.schemas.responses import CompanyOut, DrugOut, HealthTrustOut

router = APIRouter(tags=["reference"])


@router.get("/v1/health-trusts", response_model=list[HealthTrustOut], responses=READ_PROBLEMS,
            summary="The health trusts (HF) and the regional health authority (RHF) of each")
def health_trusts(actor: ReferenceReader, service: ServiceDep) -> list[HealthTrustOut]:
    return [HealthTrustOut(hf_id=t.hf_id, name=t.name, rhf_id=t.rhf_id, rhf_name=t.rhf_name)
            for t in queries.health_trusts(service)]


post_command(router, "/v1/companies", CompanyIn, [PROCUREMENT],
             summary="Register a pharma company (partner)")


@router.get("/v1/companies", response_model=list[CompanyOut], responses=READ_PROBLEMS,
            summary="Companies (a partner sees only itself)")
def companies(actor: ReferenceReader, service: ServiceDep) -> list[CompanyOut]:
    return [company_out(c) for c in queries.companies(service, actor)]


@router.get("/v1/companies/{company_id}", response_model=CompanyOut, responses=READ_PROBLEMS,
            summary="One company")
def company(company_id: CompanyId, actor: ReferenceReader, service: ServiceDep) -> CompanyOut:
    return company_out(queries.company(service, actor, company_id))


post_command(router, "/v1/drugs", DrugIn, [PROCUREMENT], summary="Register a drug")


@router.get("/v1/drugs", response_model=list[DrugOut], responses=READ_PROBLEMS,
            summary="Drugs with their prices and introduction decisions")
def drugs(actor: ReferenceReader, service: ServiceDep) -> list[DrugOut]:
    return [drug_out(d) for d in queries.drugs(service, actor)]


@router.get("/v1/drugs/{drug_id}", response_model=DrugOut, responses=READ_PROBLEMS,
            summary="One drug, its prices over time and Beslutningsforum's decisions")
def drug(drug_id: DrugId, actor: ReferenceReader, service: ServiceDep) -> DrugOut:
    return drug_out(queries.drug(service, actor, drug_id))


post_command(router, "/v1/drugs/{drug_id}/prices", PriceIn, [PROCUREMENT],
             summary="Set a drug's price per pack from a date",
             description="A price applies to IMPRESS patients too from its date (report 4.3).")
post_command(router, "/v1/drugs/{drug_id}/introduction-decisions", IntroductionDecisionIn,
             [DECISION_FORUM], summary="Record Beslutningsforum's introduction decision")
