"""What upcoming coverage ends say comes next: a financing gap is said once (the payer's reason
already says so), a takeover names the RHF."""

from __future__ import annotations

from datetime import date

from domain.financing import Payer, PayerKind
from reports.upcoming import CoverageEnding


def ending(then: Payer) -> CoverageEnding:
    return CoverageEnding("IMP-0042", "olaparib-brca", "astrazeneca", "helse-vest",
                          "helse-stavanger", date(2024, 2, 5), 35, then)


def test_a_financing_gap_is_said_once() -> None:
    reason = "financing gap: benefit at 16 weeks but no group exemption in force"
    gap = ending(Payer(PayerKind.TREATING_HF, "helse-stavanger", "helse-stavanger", (), reason))
    assert gap.next_step == reason
    plain = ending(Payer(PayerKind.TREATING_HF, "helse-stavanger", "helse-stavanger", (),
                         "no decision yet"))
    assert plain.next_step == "financing gap: no decision yet"


def test_a_takeover_names_the_rhf() -> None:
    public = ending(Payer(PayerKind.PUBLIC, "helse-vest", "helse-stavanger", (), "benefit"))
    assert public.next_step == "helse-vest takes over"
