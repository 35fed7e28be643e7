"""`decide(view, command)` returns the facts a command decides; `execute(workspace, command)`
records them into the workspace, then the facts the ledger derives from them.

A command either records all its facts (and the derived facts they imply, for every patient
they touch) or raises a `Refused` and records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain import commands as c
from domain import (decide_cohorts, decide_grants, decide_parties, decide_patients,
                    decide_statements)
from domain.derive import reconcile
from domain.identity import find_national_id
from domain import errors as err
from domain.errors import NationalIdRefused
from domain import events as ev
from domain.view import Facts, View
from domain.workspace import Workspace

DECIDERS: dict[type[c.Command], Callable[[View, Any], Facts]] = {
    c.RegisterHealthTrust: decide_parties.register_health_trust,
    c.RegisterCompany: decide_parties.register_company,
    c.RegisterDrug: decide_parties.register_drug,
    c.SetPrice: decide_parties.set_price,
    c.RecordIntroductionDecision: decide_parties.record_introduction_decision,
    c.SignAgreement: decide_parties.sign_agreement,
    c.ContributeDrug: decide_parties.contribute_drug,
    c.AmendAgreement: decide_parties.amend_agreement,
    c.OpenCohort: decide_cohorts.open_cohort,
    c.AdvanceStage: decide_cohorts.advance_stage,
    c.CloseCohort: decide_cohorts.close_cohort,
    c.GrantGroupExemption: decide_cohorts.grant_group_exemption,
    c.RevokeGroupExemption: decide_cohorts.revoke_group_exemption,
    c.DecidePermanentFinancing: decide_cohorts.decide_permanent_financing,
    c.EnrolPatient: decide_patients.enrol_patient,
    c.StartTreatment: decide_patients.start_treatment,
    c.TransferPatient: decide_patients.transfer_patient,
    c.RecordAssessment: decide_patients.record_assessment,
    c.EndTreatment: decide_patients.end_treatment,
    c.DispenseDrug: decide_patients.dispense_drug,
    c.CorrectTreatmentStart: decide_patients.correct_treatment_start,
    c.CorrectAssessment: decide_patients.correct_assessment,
    c.CorrectTreatmentEnd: decide_patients.correct_treatment_end,
    c.CorrectEnrolmentHf: decide_patients.correct_enrolment_hf,
    c.CorrectDispensation: decide_patients.correct_dispensation,
    c.InvoiceGrant: decide_grants.invoice_grant,
    c.RecordGrantPayment: decide_grants.record_grant_payment,
    c.IssueStatement: decide_statements.issue_statement,
    c.ClosePeriod: decide_statements.close_period,
    c.ReopenPeriod: decide_statements.reopen_period,
}


def decide(view: View, command: c.Command) -> Facts:
    """The facts a command decides (each with its stream), or its refusal."""
    found = find_national_id(command)
    if found is not None:
        raise NationalIdRefused(found)
    if isinstance(command, c.Tick):
        raise err.InvalidInput("a tick runs per patient: use the ledger's tick")
    decider = DECIDERS.get(type(command))
    if decider is None:
        raise err.InvalidInput(f"unknown command {type(command).__name__}")
    return decider(view, command)


def execute(ws: Workspace, command: c.Command) -> None:
    """Decide the command against the workspace, record its facts there, then what follows."""
    ws.record_all(decide(ws, command))
    for patient_id in affected_patients(ws):
        ws.record_all(reconcile(ws, patient_id))


def affected_patients(ws: Workspace) -> list[str]:
    """Patients whose derived facts may change: those written to, every patient of a cohort
    whose exemptions or financing changed, every patient under an amended agreement."""
    patients = list(ws.touched("patient"))
    for pending in ws.pending:
        kind, _, identifier = pending.stream.partition("/")
        if isinstance(pending.event, _COHORT_FINANCING):
            patients += [pid for pid, _ in ws.cohort(identifier).admitted]
        elif isinstance(pending.event, ev.AgreementAmended):
            patients += list(ws.agreement(identifier).patients)
    return list(dict.fromkeys(patients))


_COHORT_FINANCING = (
    ev.GroupExemptionGranted,
    ev.GroupExemptionRevoked,
    ev.PermanentFinancingDecided,
)


def tick(ws: Workspace, patient_id: str) -> None:
    """What the passage of time (up to the workspace's today) has made true for one patient."""
    ws.record_all(reconcile(ws, patient_id))
