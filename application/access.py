"""Who may do what: roles, the commands each role may record, and what each actor may read.

Tenancy: a partner's organisation is its company id (e.g. `nordlys`), an RHF finance officer's
is the regional health authority's id (e.g. `helse-vest`). What an actor may not see answers 404,
exactly as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain import commands as c
from domain import state as st
from domain.values import Actor
from domain.workspace import Workspace

TRIAL_OFFICE = "trial_office"
PROCUREMENT = "procurement"
DECISION_FORUM = "decision_forum"
RHF_FINANCE = "rhf_finance"
PARTNER = "partner"
AUDITOR = "auditor"
MIGRATION = "migration"

ROLES = (TRIAL_OFFICE, PROCUREMENT, DECISION_FORUM, RHF_FINANCE, PARTNER, AUDITOR, MIGRATION)
"""`migration` may only bulk-import history (any command); it reads nothing."""

# Reading, by kind of data.
READ_REFERENCE = frozenset(
    {TRIAL_OFFICE, PROCUREMENT, DECISION_FORUM, RHF_FINANCE, PARTNER, AUDITOR}
)
READ_PARTIES = READ_REFERENCE  # agreements and cohorts (partner: its own only)
READ_PATIENTS = frozenset({TRIAL_OFFICE, RHF_FINANCE, PARTNER, AUDITOR})
READ_LOG = frozenset({AUDITOR})
READ_STATEMENTS = frozenset({PROCUREMENT, RHF_FINANCE, PARTNER, AUDITOR})  # partner, RHF: scoped
READ_WORKLISTS = READ_STATEMENTS | {TRIAL_OFFICE}
IMPORT = frozenset({MIGRATION, TRIAL_OFFICE, PROCUREMENT, DECISION_FORUM})

COMMAND_ROLES: dict[type[c.Command], frozenset[str]] = {
    c.RegisterHealthTrust: frozenset(),
    c.RegisterCompany: frozenset({PROCUREMENT}),
    c.RegisterDrug: frozenset({PROCUREMENT}),
    c.SetPrice: frozenset({PROCUREMENT}),
    c.RecordIntroductionDecision: frozenset({DECISION_FORUM}),
    c.SignAgreement: frozenset({PROCUREMENT}),
    c.ContributeDrug: frozenset({PROCUREMENT}),
    c.AmendAgreement: frozenset({PROCUREMENT}),
    c.OpenCohort: frozenset({TRIAL_OFFICE}),
    c.AdvanceStage: frozenset({TRIAL_OFFICE}),
    c.CloseCohort: frozenset({TRIAL_OFFICE}),
    c.GrantGroupExemption: frozenset({DECISION_FORUM}),
    c.RevokeGroupExemption: frozenset({DECISION_FORUM}),
    c.DecidePermanentFinancing: frozenset({DECISION_FORUM}),
    c.EnrolPatient: frozenset({TRIAL_OFFICE}),
    c.StartTreatment: frozenset({TRIAL_OFFICE}),
    c.TransferPatient: frozenset({TRIAL_OFFICE}),
    c.RecordAssessment: frozenset({TRIAL_OFFICE}),
    c.EndTreatment: frozenset({TRIAL_OFFICE}),
    c.DispenseDrug: frozenset({TRIAL_OFFICE}),
    c.CorrectTreatmentStart: frozenset({TRIAL_OFFICE}),
    c.CorrectAssessment: frozenset({TRIAL_OFFICE}),
    c.CorrectTreatmentEnd: frozenset({TRIAL_OFFICE}),
    c.CorrectEnrolmentHf: frozenset({TRIAL_OFFICE}),
    c.CorrectDispensation: frozenset({TRIAL_OFFICE}),
    c.InvoiceGrant: frozenset({TRIAL_OFFICE}),
    c.RecordGrantPayment: frozenset({TRIAL_OFFICE, PARTNER}),
}


def may_record(actor: Actor, command: c.Command) -> bool:
    if actor.role == MIGRATION:
        return True
    return actor.role in COMMAND_ROLES.get(type(command), frozenset())


class View:
    """What one actor may see, judged against a workspace (the ledger as known now)."""

    def __init__(self, actor: Actor, ws: Workspace) -> None:
        self.actor = actor
        self.ws = ws

    @property
    def scoped(self) -> bool:
        return self.actor.role in (PARTNER, RHF_FINANCE)

    def company(self, company_id: str) -> bool:
        if self.actor.role == PARTNER:
            return company_id == self.actor.organisation
        return True

    def drug(self, drug: st.Drug) -> bool:
        return self.company(drug.company_id)

    def agreement(self, agreement: st.Agreement) -> bool:
        return self.company(agreement.company_id)

    def cohort(self, cohort: st.Cohort) -> bool:
        if self.actor.role == PARTNER:
            return self.agreement(self.ws.agreement(cohort.agreement_id))
        return True

    def patient(self, patient: st.Patient) -> bool:
        role = self.actor.role
        if role not in READ_PATIENTS:
            return False
        if role == PARTNER:
            return self.agreement(self.ws.agreement(patient.agreement_id))
        if role == RHF_FINANCE:
            return self.actor.organisation in self.regions(patient)
        return True

    def patient_id(self, patient_id: str) -> bool:
        return self.patient(self.ws.patient(patient_id))

    def regions(self, patient: st.Patient) -> set[str]:
        """Every RHF that has paid or may pay: the RHFs of all HFs that treated the patient."""
        trusts = self.ws.registry().trusts
        return {trusts[p.value].rhf_id for p in patient.hf_periods if p.value in trusts}

    def patient_ids(self, patient_ids: Iterable[str]) -> list[str]:
        return [pid for pid in patient_ids if self.patient_id(pid)]
