"""Group exemptions (gruppeunntak) and permanent financing decisions: the public side's basis to
pay. An exemption is granted only for a drug already introduced in Norway."""

from __future__ import annotations

from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.values import Decision, Outcome
from tests.support import d, enrol, expansion_book, held, refused

COHORT = "olaparib-brca"
EXEMPTION = "BF-2022-IMPRESS"  # granted from 2023-03-20 in expansion_book()


def grant(ref: str = "BF-2024-1", effective: str = "2024-01-15", decided: str = "2024-01-10",
          cohort: str = COHORT) -> c.GrantGroupExemption:
    return c.GrantGroupExemption(cohort_id=cohort, exemption_ref=ref, effective_from=d(effective),
                                 decided_on=d(decided))


def revoke(ref: str = EXEMPTION, on: str = "2024-02-01", reason: str = "new evidence",
           cohort: str = COHORT) -> c.RevokeGroupExemption:
    return c.RevokeGroupExemption(cohort_id=cohort, exemption_ref=ref, effective_from=d(on),
                                  reason=reason)


def permanent(decision: Decision = Decision.INTRODUCED, case_ref: str = "ID2023_077",
              on: str = "2024-01-01") -> c.DecidePermanentFinancing:
    return c.DecidePermanentFinancing(cohort_id=COHORT, decision=decision, case_ref=case_ref,
                                      effective_from=d(on))


def test_exemption_refused_for_a_drug_not_introduced_in_norway() -> None:
    refused(expansion_book(exemption_from=None, introduced=False), grant(), err.DrugNotIntroduced)


def test_exemption_refused_when_the_drug_was_introduced_only_after_the_exemption_decision() -> None:
    # expansion_book's drug was introduced on 2020-06-01 (ID2019_041)
    refused(expansion_book(exemption_from=None), grant(effective="2020-03-01", decided="2020-03-01"),
            err.DrugNotIntroduced)


def test_exemption_for_an_introduced_drug_is_recorded() -> None:
    (granted,) = expansion_book(exemption_from=None).run(grant())
    assert granted == ev.GroupExemptionGranted(cohort_id=COHORT, exemption_ref="BF-2024-1",
                                               effective_from=d("2024-01-15"),
                                               decided_on=d("2024-01-10"))


def test_exemption_granted_twice_is_refused() -> None:
    refused(expansion_book(), grant(ref=EXEMPTION), err.AlreadyRecorded)


def test_exemption_refused_in_force_before_it_was_decided() -> None:
    refused(expansion_book(), grant(effective="2024-01-09"), err.DateOutOfOrder)


def test_exemption_for_an_unknown_cohort_is_refused() -> None:
    refused(expansion_book(), grant(cohort="unknown"), err.UnknownCohort)


def test_exemption_granted_reconciles_every_patient_of_the_cohort() -> None:
    book = expansion_book(exemption_from=None)
    for pid in ("IMP-0001", "IMP-0002"):
        enrol(book, pid, start="2023-06-12", outcome=Outcome.STABLE_DISEASE, assessed="2023-10-01")
    facts = book.run(grant())
    assert sorted(f.patient_id for f in facts if isinstance(f, ev.PublicPayerTookOver)) == [
        "IMP-0001", "IMP-0002"]


def test_revoking_an_unknown_exemption_is_refused() -> None:
    refused(expansion_book(), revoke(ref="BF-1999-X"), err.UnknownExemption)


def test_revoking_an_exemption_twice_is_refused() -> None:
    book = expansion_book()
    book.run(revoke())
    refused(book, revoke(on="2024-03-01"), err.ExemptionAlreadyRevoked)


def test_revocation_refused_before_the_exemption_took_effect() -> None:
    refused(expansion_book(), revoke(on="2023-03-19"), err.DateOutOfOrder)


def test_revocation_refused_without_a_reason() -> None:
    refused(expansion_book(), revoke(reason=""), err.ReasonRequired)


def test_revocation_in_an_unknown_cohort_is_refused() -> None:
    refused(expansion_book(), revoke(cohort="unknown"), err.UnknownCohort)


def test_permanent_financing_refused_with_a_malformed_case_reference() -> None:
    refused(expansion_book(), permanent(case_ref="nye metoder 2023/77"),
            err.InvalidCaseReference)


def test_permanent_financing_decided_twice_from_the_same_date_is_refused() -> None:
    book = expansion_book()
    book.run(permanent())
    refused(book, permanent(decision=Decision.REJECTED, case_ref="ID2023_078"),
            err.AlreadyRecorded)


def test_permanent_financing_for_an_unknown_cohort_is_refused() -> None:
    refused(expansion_book(), c.DecidePermanentFinancing(
        cohort_id="unknown", decision=Decision.INTRODUCED, case_ref="ID2023_077",
        effective_from=d("2024-01-01")), err.UnknownCohort)


def test_revocation_records_public_payer_stopped_for_the_cohorts_patients() -> None:
    book = expansion_book()
    enrol(book, "IMP-0001", start="2023-06-12", outcome=Outcome.STABLE_DISEASE,
          assessed="2023-10-01")
    book.run(revoke(on="2024-02-01"))
    assert [f.last_day for f in held(book, "IMP-0001", ev.PublicPayerStopped)] == [d("2024-01-31")]
