"""Per-patient grants: committed by the ledger when a stage 1-2 patient starts treatment, then
invoiced once and paid in the grant's own currency, never more than is outstanding."""

from __future__ import annotations

from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.money import Money
from tests.support import Book, d, enrol, expansion_book, nok, refused, stage_book

PID = "IMP-0001"


def committed_book(invoiced: bool = True) -> Book:
    """A stage 1 patient started 2021-04-12: a NOK 50 000 grant is committed."""
    book = stage_book(grant=nok(50000))
    enrol(book, PID, cohort="lynparza-prostate", hf="ous", on="2021-04-01", start="2021-04-12")
    if invoiced:
        book.run(invoice())
    return book


def invoice(ref: str = "INV-2021-7", on: str = "2021-05-01") -> c.InvoiceGrant:
    return c.InvoiceGrant(patient_id=PID, invoice_ref=ref, invoiced_on=d(on))


def pay(amount: Money, ref: str = "PAY-1", on: str = "2021-06-01") -> c.RecordGrantPayment:
    return c.RecordGrantPayment(patient_id=PID, payment_ref=ref, amount=amount, paid_on=d(on))


def test_invoice_is_for_the_committed_amount() -> None:
    book = committed_book(invoiced=False)
    (invoiced,) = book.run(invoice())
    assert invoiced == ev.GrantInvoiced(patient_id=PID, invoice_ref="INV-2021-7",
                                        amount=nok(50000), invoiced_on=d("2021-05-01"))


def test_partial_payments_add_up_to_the_grant() -> None:
    book = committed_book()
    book.run(pay(nok(20000), "PAY-1"))
    book.run(pay(nok(30000), "PAY-2", on="2021-07-01"))
    grant = book.case(PID).patient.grant
    assert (grant.paid, grant.outstanding) == (nok(50000), nok(0))


def test_grant_invoice_refused_before_the_grant_is_committed() -> None:
    book = stage_book()
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start=None)
    refused(book, invoice(), err.GrantNotCommitted)


def test_grant_invoice_refused_for_an_expansion_patient() -> None:
    book = expansion_book()
    enrol(book, "IMP-0042")
    refused(book, c.InvoiceGrant(patient_id="IMP-0042", invoice_ref="INV-1",
                                 invoiced_on=d("2023-07-01")), err.GrantNotCommitted)


def test_grant_payment_refused_before_the_grant_is_committed() -> None:
    book = stage_book()
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start=None)
    refused(book, pay(nok(50000)), err.GrantNotCommitted)


def test_grant_invoiced_twice_is_refused() -> None:
    refused(committed_book(), invoice("INV-2021-8"), err.GrantAlreadyInvoiced)


def test_grant_invoice_refused_before_the_grant_is_due() -> None:
    refused(committed_book(invoiced=False), invoice(on="2021-04-11"), err.DateOutOfOrder)


def test_grant_invoice_refused_without_a_reference() -> None:
    refused(committed_book(invoiced=False), invoice(ref=" "), err.InvalidInput)


def test_payment_refused_before_the_grant_is_invoiced() -> None:
    refused(committed_book(invoiced=False), pay(nok(50000)), err.GrantNotInvoiced)


def test_payment_refused_before_the_invoice_date() -> None:
    refused(committed_book(), pay(nok(50000), on="2021-04-30"), err.DateOutOfOrder)


def test_overpayment_is_refused() -> None:
    book = committed_book()
    book.run(pay(nok(40000), "PAY-1"))
    refused(book, pay(nok("10000.01"), "PAY-2"), err.Overpayment)


def test_payment_in_another_currency_is_refused() -> None:
    refused(committed_book(), pay(Money.of(5000, "EUR")), err.CurrencyDiffers)


def test_payment_of_nothing_is_refused() -> None:
    refused(committed_book(), pay(nok(0)), err.InvalidInput)


def test_the_same_payment_recorded_twice_is_refused() -> None:
    book = committed_book()
    book.run(pay(nok(10000), "PAY-1"))
    refused(book, pay(nok(10000), "PAY-1"), err.AlreadyRecorded)


def test_a_grant_in_eur_is_invoiced_and_paid_in_eur() -> None:
    book = stage_book(grant=Money.of(5000, "EUR"))
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start="2021-04-12")
    (invoiced,) = book.run(invoice())
    assert invoiced.amount == Money.of(5000, "EUR")
    refused(book, pay(nok(5000)), err.CurrencyDiffers)
    book.run(pay(Money.of(5000, "EUR")))
    assert book.case(PID).patient.grant.outstanding == Money.of(0, "EUR")


# --- a grant follows its basis; money already invoiced or paid stays with it (ADR 0014) -----


def raised_from(on: str) -> c.AmendAgreement:
    return c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d(on),
                            reason="grant raised", grant_per_patient=nok(60000))


def test_a_grant_recommitted_higher_is_invoiced_for_the_difference_only() -> None:
    book = committed_book()  # 50 000 invoiced (INV-2021-7)
    book.run(raised_from("2021-04-01"))  # the terms in force on the start change, late
    grant = book.case(PID).patient.grant
    assert (grant.amount, grant.invoiced, grant.to_invoice) == (nok(60000), nok(50000),
                                                                 nok(10000))
    (second,) = book.run(invoice("INV-2021-7b", on="2021-06-01"))
    assert second.amount == nok(10000)
    refused(book, invoice("INV-2021-7c", on="2021-06-02"), err.GrantAlreadyInvoiced)


def test_a_paid_grant_moved_to_another_hf_keeps_its_money_and_says_what_to_settle() -> None:
    book = committed_book()
    book.run(pay(nok(50000)))
    book.run(c.CorrectEnrolmentHf(patient_id=PID, hf_id="helse-bergen",
                                  reason="enrolled at Haukeland"))
    grant = book.case(PID).patient.grant
    assert (grant.hf_id, grant.amount, grant.invoiced, grant.paid, grant.outstanding) == (
        "helse-bergen", nok(50000), nok(50000), nok(50000), nok(0))
    assert len(grant.earlier) == 1
    assert grant.settlement() == "invoiced by ous, but the grant is now owed to helse-bergen"


def test_money_paid_above_a_grant_lowered_later_shows_as_paid_more_than_is_owed() -> None:
    book = stage_book(grant=nok(50000))
    book.run(c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d("2021-04-13"),
                              reason="grant lowered", grant_per_patient=nok(40000)))
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start="2021-04-12")
    book.run(invoice())
    book.run(pay(nok(50000)))
    book.run(c.CorrectTreatmentStart(patient_id=PID, started_on=d("2021-04-14"),
                                     reason="first dose postponed"))
    grant = book.case(PID).patient.grant
    assert (grant.amount, grant.paid, grant.outstanding) == (nok(40000), nok(50000), nok(-10000))
    assert grant.settlement() == ("invoiced NOK 10000.00 more than is owed; "
                                  "paid NOK 10000.00 more than is owed")
    refused(book, pay(nok(1), "PAY-2"), err.Overpayment)


def test_an_invoice_dated_after_the_day_it_is_recorded_is_refused() -> None:
    refused(committed_book(invoiced=False), invoice(on="2021-05-01"), err.DatedInTheFuture,
            today=d("2021-04-30"))
