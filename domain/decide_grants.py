"""Per-patient grants: invoiced by the treating hospital, paid by the partner.

The grant itself is derived (`domain.derive`): it follows the facts it rests on, so it may have
been re-committed (another amount, health trust or due date) since it was first invoiced. An
invoice is for what is owed and not yet invoiced; money invoiced or paid is never taken back by
the ledger, and a difference to settle shows on the grant (ADR 0014).
"""

from __future__ import annotations

from domain import checks
from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.view import Facts, View, patient_stream


def invoice_grant(view: View, cmd: c.InvoiceGrant) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    grant = p.grant
    if grant is None or grant.withdrawn:
        raise err.GrantNotCommitted(p.patient_id)
    if grant.invoices and grant.to_invoice.amount <= 0:
        raise err.GrantAlreadyInvoiced(p.patient_id, grant.invoices[-1].invoice_ref)
    checks.text("invoice reference", cmd.invoice_ref, limit=100)
    if any(i.invoice_ref == cmd.invoice_ref for i in grant.invoices):
        raise err.AlreadyRecorded("invoice", cmd.invoice_ref)
    on = checks.happened(view, "the invoice", cmd.invoiced_on)
    if on < grant.due_from:
        raise err.DateOutOfOrder("the invoice", on, "the grant's due date", grant.due_from)
    return [(patient_stream(p.patient_id), ev.GrantInvoiced(
        patient_id=p.patient_id, invoice_ref=cmd.invoice_ref, amount=grant.to_invoice,
        invoiced_on=on))]


def record_grant_payment(view: View, cmd: c.RecordGrantPayment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    grant = p.grant
    if grant is None:
        raise err.GrantNotCommitted(p.patient_id)
    if not grant.invoices:
        raise err.GrantNotInvoiced(p.patient_id)
    checks.text("payment reference", cmd.payment_ref, limit=100)
    if any(x.payment_ref == cmd.payment_ref for x in grant.payments):
        raise err.AlreadyRecorded("payment", cmd.payment_ref)
    if cmd.amount.currency != grant.amount.currency:
        raise err.CurrencyDiffers(grant.amount.currency, cmd.amount.currency)
    if cmd.amount.amount <= 0:
        raise err.InvalidInput("a payment must be more than zero")
    outstanding = grant.outstanding
    if cmd.amount.amount > outstanding.amount:
        raise err.Overpayment(p.patient_id, f"{outstanding.amount} {outstanding.currency}")
    on = checks.happened(view, "the payment", cmd.paid_on)
    invoiced_on = grant.invoices[0].invoiced_on
    if on < invoiced_on:
        raise err.DateOutOfOrder("the payment", on, "the invoice", invoiced_on)
    return [(patient_stream(p.patient_id), ev.GrantPaid(
        patient_id=p.patient_id, payment_ref=cmd.payment_ref, amount=cmd.amount, paid_on=on))]
