"""What one dispensation cost and who bore it (domain/costing.py): the price in force on the
dispensing date, the payer on that date, and whether it needs resolving."""

from __future__ import annotations

from domain import commands as c
from dataclasses import replace

from domain.costing import DispensationGap, costed, dispensation_gap
from domain.financing import Payer, PayerKind
from domain.state import Ending
from domain.values import EndReason, Outcome, days
from tests.support import d, enrol, expansion_book, nok, stage_book

PID = "IMP-0042"


def dispensed(book, on: str, packs: int = 2):  # type: ignore[no-untyped-def]
    book.run(c.DispenseDrug(patient_id=PID, packs=packs, dispensed_on=d(on)))
    case = book.case(PID)
    return case, case.patient.dispensations[-1]


def test_a_dispensation_is_priced_at_the_price_in_force_on_its_date_not_the_latest() -> None:
    book = stage_book()
    enrol(book, PID, cohort="lynparza-prostate", on="2023-01-02", start="2023-01-09")
    book.run(c.SetPrice(drug_id="lynparza", price_per_pack=nok(50000),
                        effective_from=d("2023-07-01")))
    case, before = dispensed(book, "2023-06-30")
    _, after = dispensed(book, "2023-07-01")
    drug = book.workspace().drug("lynparza")
    assert costed(case, drug, before).value == nok(84000)  # 2 x 42 000, the old price
    assert costed(case, drug, after).value == nok(100000)  # the new one from its first day
    assert costed(case, drug, after).price.ref.startswith("drug/lynparza@")  # type: ignore[union-attr]


def test_a_drug_without_a_price_on_the_date_has_no_value_not_a_guess() -> None:
    book = stage_book(price=None)
    enrol(book, PID, cohort="lynparza-prostate", on="2023-01-02", start="2023-01-09")
    case, d1 = dispensed(book, "2023-02-01")
    got = costed(case, book.workspace().drug("lynparza"), d1)
    assert (got.price, got.value, got.payer.kind) == (None, None, PayerKind.COMPANY)


def test_the_public_payer_bears_a_dispensation_after_the_companys_weeks_with_benefit() -> None:
    book = expansion_book()
    enrol(book, PID, outcome=Outcome.STABLE_DISEASE, assessed="2023-09-28")
    start = d("2023-06-12")
    case, last_company_day = dispensed(book, str(start + days(111)))
    _, first_public_day = dispensed(book, str(start + days(112)))
    drug = book.workspace().drug("lynparza")
    assert costed(case, drug, last_company_day).payer.kind is PayerKind.COMPANY
    public = costed(case, drug, first_public_day).payer
    assert (public.kind, public.party) == (PayerKind.PUBLIC, "helse-vest")


def test_a_dispensation_after_progression_was_assessed_needs_resolving() -> None:
    book = expansion_book()
    enrol(book, PID)
    book.run(c.RecordAssessment(patient_id=PID, assessed_on=d("2023-09-28"),
                                outcome=Outcome.PROGRESSIVE_DISEASE))
    _, before = dispensed(book, "2023-09-28")
    case, after = dispensed(book, "2023-10-05")
    drug = book.workspace().drug("lynparza")
    assert costed(case, drug, before).gap is None
    got = costed(case, drug, after)
    assert (got.gap, got.gap_detail) == (DispensationGap.AFTER_PROGRESSION,
                                         "progressive disease assessed 2023-09-28")


def test_dispensations_after_the_end_or_on_a_day_nobody_pays_need_resolving() -> None:
    # The ledger now refuses both (ADR 0014); logs recorded before that rule may hold them.
    case = book_case()
    ended = replace(case.patient, ended=Ending(d("2023-10-10"), EndReason.PROGRESSION, "x@9"))
    nobody = Payer(PayerKind.NOBODY, None, "ous", (), "treatment not started")
    company = Payer(PayerKind.COMPANY, "nordlys", "ous", (), "")
    assert dispensation_gap(ended, d("2023-10-11"), company) == (
        DispensationGap.AFTER_END, "treatment ended 2023-10-10 (progression)")
    assert dispensation_gap(ended, d("2023-10-10"), company) == (None, "")
    assert dispensation_gap(case.patient, d("2023-06-01"), nobody) == (
        DispensationGap.WITHOUT_PAYER, "treatment not started")


def book_case():  # type: ignore[no-untyped-def]
    book = expansion_book()
    enrol(book, PID)
    return book.case(PID)
