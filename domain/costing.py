"""What one dispensation cost and who bore it: a pure function of the facts and a dispensation.

The rule (report 4.3: "if the price of a drug changes, it changes for IMPRESS patients too"):
a dispensation is priced at the drug's price in force on its dispensing date, and borne by the
payer on that date (`domain.financing.payer_on`, the RHF of the health trust treating the
patient that day when the public side pays). Its value is the price per pack times the packs, in
the price's currency; a drug without a price on that date gives no value (shown, never guessed).

A dispensation can itself be something to resolve (the worklist): dispensed after the end of
treatment, after progression was assessed, or on a date nobody pays for. The first that applies
is the one named.

Everything here reads only the facts it is given: the read models, the statements and a
partner's offline verifier all recompute a figure with the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.financing import Case, Payer, PayerKind, payer_on
from domain.money import Money
from domain.state import Dated, Dispensation, Drug, Patient
from domain.values import Outcome


class DispensationGap(StrEnum):
    AFTER_END = "dispensed-after-end"
    AFTER_PROGRESSION = "dispensed-after-progression"
    WITHOUT_PAYER = "dispensed-without-payer"


@dataclass(frozen=True)
class Costed:
    """One dispensation, costed: who bore it, at which price, and whether it needs resolving."""

    payer: Payer
    price: Dated[Money] | None  # the price per pack in force on the dispensing date
    packs: int
    gap: DispensationGap | None = None
    gap_detail: str = ""  # why it needs resolving ("" when it does not)

    @property
    def value(self) -> Money | None:
        return self.price.value * self.packs if self.price is not None else None


def costed(case: Case, drug: Drug, dispensation: Dispensation, payer: Payer | None = None
           ) -> Costed:
    """The dispensation costed as the facts of `case` and `drug` say. `payer`: the payer on the
    dispensing date when the caller already has it (from the patient's timeline, which gives
    the same answer as `payer_on`); otherwise it is worked out here."""
    on = dispensation.dispensed_on
    who = payer if payer is not None else payer_on(case, on)
    gap, detail = dispensation_gap(case.patient, on, who)
    return Costed(who, drug.price_on(on), dispensation.packs, gap, detail)


def dispensation_gap(patient: Patient, on: date, payer: Payer
                     ) -> tuple[DispensationGap | None, str]:
    """Whether a dispensation on `on` needs resolving, and why."""
    ended = patient.ended
    if ended is not None and on > ended.ended_on:
        return DispensationGap.AFTER_END, f"treatment ended {ended.ended_on} ({ended.reason.value})"
    a = patient.assessment
    if a is not None and a.outcome is Outcome.PROGRESSIVE_DISEASE and on > a.assessed_on:
        return DispensationGap.AFTER_PROGRESSION, f"progressive disease assessed {a.assessed_on}"
    if payer.kind is PayerKind.NOBODY:
        return DispensationGap.WITHOUT_PAYER, payer.reason
    return None, ""
