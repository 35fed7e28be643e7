"""Reference data and agreements: given facts, when a command, then facts or a refusal (and a
refusal records nothing)."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.money import Money
from domain.values import Decision
from tests.support import (
    Book,
    d,
    enrol,
    nok,
    refused,
    stage_book,
    with_company_and_drug,
    with_reference,
)

AGREEMENT = "nordlys-impress"


def book_with_drug(**kw: object) -> Book:
    return with_company_and_drug(with_reference(Book()), **kw)  # type: ignore[arg-type]


def amend(**kw: object) -> c.AmendAgreement:
    terms: dict[str, object] = {"agreement_id": AGREEMENT, "effective_from": d("2022-01-01"),
                                "reason": "renegotiated"}
    return c.AmendAgreement(**{**terms, **kw})  # type: ignore[arg-type]


# --- registering parties --------------------------------------------------------------------


def test_registering_a_company_records_it() -> None:
    book = Book()
    facts = book.run(c.RegisterCompany(company_id="roche-norge", name="Roche Norge AS",
                                       registered_on=d("2021-01-01")))
    assert facts == [ev.CompanyRegistered(company_id="roche-norge", name="Roche Norge AS",
                                          registered_on=d("2021-01-01"))]


def test_company_id_refused_unless_lower_case_letters_digits_and_hyphens() -> None:
    refused(Book(), c.RegisterCompany(company_id="Roche Norge", name="Roche Norge AS",
                                      registered_on=d("2021-01-01")), err.InvalidIdentifier)


def test_company_refused_without_a_name() -> None:
    refused(Book(), c.RegisterCompany(company_id="roche-norge", name="  ",
                                      registered_on=d("2021-01-01")), err.InvalidInput)


def test_company_registered_twice_is_refused() -> None:
    book = book_with_drug()
    refused(book, c.RegisterCompany(company_id="nordlys", name="Nordlys AS",
                                    registered_on=d("2021-02-01")), err.AlreadyRecorded)


def test_health_trust_registered_twice_is_refused() -> None:
    book = with_reference(Book())
    refused(book, c.RegisterHealthTrust(hf_id="ous", name="Oslo universitetssykehus HF",
                                        rhf_id="helse-sor-ost", rhf_name="Helse Sør-Øst RHF",
                                        registered_on=d("2022-01-01")), err.AlreadyRecorded)


def test_drug_of_an_unknown_company_is_refused() -> None:
    refused(Book(), c.RegisterDrug(drug_id="retsevmo", brand="Retsevmo", generic="selpercatinib",
                                   company_id="lilly-norge", registered_on=d("2021-01-01")),
            err.UnknownCompany)


def test_drug_registered_twice_is_refused() -> None:
    refused(book_with_drug(), c.RegisterDrug(drug_id="lynparza", brand="Lynparza",
                                             generic="olaparib", company_id="nordlys",
                                             registered_on=d("2021-02-01")), err.AlreadyRecorded)


def test_price_of_an_unknown_drug_is_refused() -> None:
    refused(Book(), c.SetPrice(drug_id="lynparza", price_per_pack=nok(42000),
                               effective_from=d("2021-01-01")), err.UnknownDrug)


def test_price_of_zero_is_refused() -> None:
    refused(book_with_drug(), c.SetPrice(drug_id="lynparza", price_per_pack=nok(0),
                                         effective_from=d("2022-01-01")), err.InvalidInput)


@pytest.mark.parametrize("typed, recorded", [("150 mg x 56", "150 mg x 56"),
                                              ("150 mg × 56", "150 mg x 56"),
                                              (" 100 mg/ml x1 ", "100 mg/ml x 1")])
def test_a_price_records_what_a_pack_is(typed: str, recorded: str) -> None:
    book = book_with_drug(price=None)
    (price,) = book.run(c.SetPrice(drug_id="lynparza", price_per_pack=nok(42000),
                                   effective_from=d("2021-01-01"), pack=typed))
    assert price.pack == recorded
    drug = book.workspace().drug("lynparza")
    assert drug.pack_of(drug.price_on(d("2021-06-01"))) == recorded


@pytest.mark.parametrize("typed", ["a box", "150 mg", "x 56", "150 mg x 0", ""])
def test_a_pack_that_does_not_say_strength_x_count_is_refused(typed: str) -> None:
    refused(book_with_drug(), c.SetPrice(drug_id="lynparza", price_per_pack=nok(42000),
                                         effective_from=d("2022-01-01"), pack=typed),
            err.InvalidPackDescription)


def test_of_two_prices_from_the_same_day_the_one_recorded_last_applies() -> None:
    book = book_with_drug(price=nok(42000))
    book.run(c.SetPrice(drug_id="lynparza", price_per_pack=nok(39000),
                        effective_from=d("2023-01-01")))
    book.run(c.SetPrice(drug_id="lynparza", price_per_pack=nok(38000),
                        effective_from=d("2023-01-01")))
    assert book.workspace().drug("lynparza").price_on(d("2023-02-01")).value == nok(38000)


def test_a_price_may_take_effect_after_the_day_it_is_recorded() -> None:
    book = book_with_drug(price=nok(42000))
    book.run(c.SetPrice(drug_id="lynparza", price_per_pack=nok(39000),
                        effective_from=d("2031-01-01")), today=d("2030-01-01"))
    assert book.workspace().drug("lynparza").price_on(d("2031-01-01")).value == nok(39000)


def test_a_signing_dated_after_the_day_it_is_recorded_is_refused() -> None:
    book = with_reference(Book())
    book.run(c.RegisterCompany(company_id="nordlys", name="Nordlys", registered_on=d("2021-01-01")))
    refused(book, c.SignAgreement(agreement_id="nordlys-2", company_id="nordlys",
                                  signed_on=d("2021-03-01"), grant_per_patient=nok(50000)),
            err.DatedInTheFuture, today=d("2021-02-28"))


def test_a_new_price_applies_from_its_date() -> None:
    book = book_with_drug(price=nok(42000))
    book.run(c.SetPrice(drug_id="lynparza", price_per_pack=nok(39000),
                        effective_from=d("2023-01-01")))
    drug = book.workspace().drug("lynparza")
    assert drug.price_on(d("2022-12-31")).value == nok(42000)
    assert drug.price_on(d("2023-01-01")).value == nok(39000)
    assert drug.price_on(d("2020-12-31")) is None


def test_introduction_decision_refused_with_a_malformed_case_reference() -> None:
    refused(book_with_drug(), c.RecordIntroductionDecision(
        drug_id="lynparza", decision=Decision.INTRODUCED, case_ref="2019-41",
        indication="ovarian cancer", decided_on=d("2020-06-01")), err.InvalidCaseReference)


def test_introduction_decision_recorded_twice_is_refused() -> None:
    refused(book_with_drug(), c.RecordIntroductionDecision(
        drug_id="lynparza", decision=Decision.INTRODUCED, case_ref="ID2019_041",
        indication="ovarian cancer", decided_on=d("2020-06-01")), err.AlreadyRecorded)


# --- agreements -----------------------------------------------------------------------------


def test_agreement_with_an_unknown_company_is_refused() -> None:
    refused(Book(), c.SignAgreement(agreement_id="x-impress", company_id="nobody-pharma",
                                    signed_on=d("2021-01-01"), grant_per_patient=nok(50000)),
            err.UnknownCompany)


def test_agreement_signed_twice_is_refused() -> None:
    refused(book_with_drug(), c.SignAgreement(agreement_id=AGREEMENT, company_id="nordlys",
                                              signed_on=d("2021-01-01"),
                                              grant_per_patient=nok(50000)), err.AlreadyRecorded)


def test_agreement_refused_with_zero_coverage_weeks() -> None:
    book = book_with_drug()
    refused(book, c.SignAgreement(agreement_id="second", company_id="nordlys",
                                  signed_on=d("2021-01-01"), grant_per_patient=nok(50000),
                                  coverage_weeks=0), err.InvalidQuantity)


def test_agreement_refused_with_a_negative_grant() -> None:
    refused(book_with_drug(), c.SignAgreement(agreement_id="second", company_id="nordlys",
                                              signed_on=d("2021-01-01"),
                                              grant_per_patient=nok(-1)), err.InvalidInput)


def test_agreement_keeps_its_grant_currency_eur_or_nok() -> None:
    book = book_with_drug(grant=Money.of(5000, "EUR"))
    assert book.workspace().agreement(AGREEMENT).grants[0].value == Money.of(5000, "EUR")


def test_contribution_of_a_drug_of_another_company_is_refused() -> None:
    book = book_with_drug()
    with_company_and_drug(book, company="fjord", drug="retsevmo")
    refused(book, c.ContributeDrug(agreement_id=AGREEMENT, drug_id="retsevmo", patient_slots=24,
                                   effective_from=d("2021-01-01")), err.DrugOfAnotherCompany)


def test_contribution_under_an_unknown_agreement_is_refused() -> None:
    refused(book_with_drug(), c.ContributeDrug(agreement_id="unknown", drug_id="lynparza",
                                               patient_slots=8, effective_from=d("2021-01-01")),
            err.UnknownAgreement)


def test_contribution_of_an_unknown_drug_is_refused() -> None:
    refused(book_with_drug(), c.ContributeDrug(agreement_id=AGREEMENT, drug_id="unknown",
                                               patient_slots=8, effective_from=d("2021-01-01")),
            err.UnknownDrug)


def test_contribution_of_the_same_drug_twice_is_refused() -> None:
    refused(book_with_drug(), c.ContributeDrug(agreement_id=AGREEMENT, drug_id="lynparza",
                                               patient_slots=8, effective_from=d("2021-01-01")),
            err.AlreadyRecorded)


def test_contribution_refused_without_patient_slots() -> None:
    book = book_with_drug()
    book.run(c.RegisterDrug(drug_id="zejula", brand="Zejula", generic="niraparib",
                            company_id="nordlys", registered_on=d("2021-01-01")))
    refused(book, c.ContributeDrug(agreement_id=AGREEMENT, drug_id="zejula", patient_slots=0,
                                   effective_from=d("2021-01-01")), err.InvalidQuantity)


def test_enrolment_refused_when_the_agreements_slots_are_used_up() -> None:
    book = stage_book(slots=2)
    enrol(book, "IMP-0001", cohort="lynparza-prostate", on="2021-04-01", start=None)
    enrol(book, "IMP-0002", cohort="lynparza-prostate", on="2021-04-01", start=None)
    refused(book, c.EnrolPatient(patient_id="IMP-0003", cohort_id="lynparza-prostate",
                                 hf_id="ous", enrolled_on=d("2021-04-02")), err.SlotsUsedUp)


def test_amended_slots_let_more_patients_in_from_the_amendments_date() -> None:
    book = stage_book(slots=1)
    enrol(book, "IMP-0001", cohort="lynparza-prostate", on="2021-04-01", start=None)
    book.run(amend(drug_id="lynparza", patient_slots=3))  # from 2022-01-01
    enrol(book, "IMP-0002", cohort="lynparza-prostate", on="2022-01-03", start=None)
    assert book.workspace().agreement(AGREEMENT).used == {"lynparza": 2}


def test_an_enrolment_dated_before_more_slots_apply_is_judged_by_the_slots_then() -> None:
    book = stage_book(slots=1)
    enrol(book, "IMP-0001", cohort="lynparza-prostate", on="2021-04-01", start=None)
    book.run(amend(drug_id="lynparza", patient_slots=3))  # from 2022-01-01
    problem = refused(book, c.EnrolPatient(patient_id="IMP-0002", cohort_id="lynparza-prostate",
                                           hf_id="ous", enrolled_on=d("2021-12-31")),
                      err.SlotsUsedUp)
    assert "all 1 patient slots in force on 2021-12-31" in str(problem)


def test_late_enrolments_within_the_slots_of_their_dates_are_accepted_in_any_order() -> None:
    # 1 slot until 2022-01-01, 3 from then: one enrolment before, two after, recorded last first
    book = stage_book(slots=1)
    book.run(amend(drug_id="lynparza", patient_slots=3))
    for pid, on in (("IMP-0003", "2022-03-01"), ("IMP-0002", "2022-02-01"),
                    ("IMP-0001", "2021-04-01")):
        enrol(book, pid, cohort="lynparza-prostate", on=on, start=None)
    refused(book, c.EnrolPatient(patient_id="IMP-0004", cohort_id="lynparza-prostate",
                                 hf_id="ous", enrolled_on=d("2021-05-01")), err.SlotsUsedUp)


def test_slots_cannot_be_cut_below_the_patients_enrolled_while_they_apply() -> None:
    book = stage_book(slots=3)
    enrol(book, "IMP-0001", cohort="lynparza-prostate", on="2021-04-01", start=None)
    enrol(book, "IMP-0002", cohort="lynparza-prostate", on="2022-02-01", start=None)
    book.run(amend(drug_id="lynparza", patient_slots=5, effective_from=d("2022-01-15")))
    # 1 slot from 2021-06-01 to 2022-01-14 holds IMP-0001; the term from 2022-01-15 holds both
    book.run(amend(drug_id="lynparza", patient_slots=1, effective_from=d("2021-06-01")))
    refused(book, amend(drug_id="lynparza", patient_slots=1, effective_from=d("2022-01-20")),
            err.InvalidQuantity)


def test_amendment_records_only_the_changed_terms() -> None:
    book = book_with_drug()
    facts = book.run(amend(coverage_weeks=12))
    assert facts == [ev.AgreementAmended(agreement_id=AGREEMENT, effective_from=d("2022-01-01"),
                                         reason="renegotiated", coverage_weeks=12)]


def test_amendment_refused_without_a_reason() -> None:
    refused(book_with_drug(), amend(coverage_weeks=12, reason=" "), err.ReasonRequired)


def test_amendment_refused_when_it_changes_nothing() -> None:
    refused(book_with_drug(), amend(), err.InvalidInput)


def test_amendment_of_slots_refused_without_the_drug() -> None:
    refused(book_with_drug(), amend(patient_slots=10), err.InvalidInput)


def test_amendment_of_slots_refused_for_a_drug_not_contributed() -> None:
    book = book_with_drug()
    book.run(c.RegisterDrug(drug_id="zejula", brand="Zejula", generic="niraparib",
                            company_id="nordlys", registered_on=d("2021-01-01")))
    refused(book, amend(drug_id="zejula", patient_slots=10), err.DrugNotContributed)


def test_amendment_refused_to_fewer_slots_than_already_used() -> None:
    book = stage_book(slots=5)
    enrol(book, "IMP-0001", cohort="lynparza-prostate", on="2021-04-01", start=None)
    enrol(book, "IMP-0002", cohort="lynparza-prostate", on="2021-04-01", start=None)
    refused(book, amend(drug_id="lynparza", patient_slots=1), err.InvalidQuantity)


def test_amendment_refused_with_the_grant_in_another_currency() -> None:
    refused(book_with_drug(grant=nok(50000)), amend(grant_per_patient=Money.of(5000, "EUR")),
            err.CurrencyDiffers)


def test_amendment_refused_to_a_negative_grant() -> None:
    refused(book_with_drug(), amend(grant_per_patient=nok(-5)), err.InvalidInput)


def test_amendment_refused_from_before_the_signing() -> None:
    refused(book_with_drug(), amend(coverage_weeks=12, effective_from=d("2020-12-31")),
            err.DateOutOfOrder)


def test_amendment_of_an_unknown_agreement_is_refused() -> None:
    refused(book_with_drug(), amend(agreement_id="unknown", coverage_weeks=12),
            err.UnknownAgreement)


@pytest.mark.parametrize("command", [
    c.Tick(today=d("2024-01-01")),
    c.Command(),
])
def test_commands_without_a_decider_are_refused(command: c.Command) -> None:
    refused(book_with_drug(), command, err.InvalidInput)
