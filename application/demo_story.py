"""The demo history as data: parties, FICTIONAL prices, decisions, agreements, cohorts and the
courses of 51 pseudonymous patients. `application.demo` turns it into steps.

Everything here is made up for demonstration. The parties, drugs, health trusts and the shape of
the rules come from the report (seed 004, ch. 2.1, 2.2, 4.3); every price, date, case reference,
exemption reference, invoice and patient course is invented. The prices are FICTIONAL: they are
written as digit runs (NOK 12 345.00, NOK 23 456.00, ...) so that nobody mistakes them for LIS or
Sykehusinnkjøp prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.money import Money
from domain.values import Decision, EndReason, Outcome

FICTIONAL_PRICES_NOTE = (
    "All prices in the demo history are FICTIONAL (digit runs such as NOK 12 345.00 per pack); "
    "they are not LIS, Sykehusinnkjøp or list prices of any drug."
)

GO_LIVE = date(2021, 11, 1)  # the ledger went live; older agreements and decisions are backfilled
STORY_END = date(2025, 6, 30)  # the last month-end tick; nothing is recorded after it


def d(text: str) -> date:
    return date.fromisoformat(text)


def fictional_nok(text: str) -> Money:
    """A FICTIONAL price per pack in NOK, written as in a price list: '12 345.00'."""
    return Money.of(Decimal(text.replace(" ", "")), "NOK")


# --- parties ----------------------------------------------------------------------------------

COMPANIES = ("Roche Norge AS", "Novartis Norge AS", "AstraZeneca AS", "Eli Lilly Norge AS",
             "GlaxoSmithKline AS")
"""The partners in the story, by their names in the drug list; ids via domain.reference."""

PRICES: dict[str, tuple[tuple[str, str], ...]] = {
    # drug_id: ((effective_from, FICTIONAL NOK per pack), ...); more than one entry = a change
    "alecensa": (("2021-10-01", "34 567.00"),),
    "cotellic": (("2021-10-01", "23 456.00"),),
    "erivedge": (("2021-10-01", "45 678.00"),),
    "phesgo": (("2021-10-01", "56 789.00"),),
    "rozlytrek": (("2021-10-01", "67 890.00"),),
    "tecentriq": (("2021-10-01", "43 210.00"),),
    "tecentriq-avastin": (("2021-10-01", "54 321.00"),),
    "zelboraf": (("2021-10-01", "21 098.00"),),
    "mekinist": (("2021-10-01", "32 109.00"),),
    "tafinlar": (("2021-10-01", "19 876.00"),),
    "piqray": (("2021-10-01", "28 765.00"),),
    "tabrecta": (("2021-10-01", "37 654.00"),),
    "zykadia": (("2021-10-01", "26 543.00"),),
    "imatinib": (("2021-10-01", "1 234.00"),),
    "lynparza": (("2021-10-01", "12 345.00"), ("2023-04-01", "11 234.00")),
    "retsevmo": (("2023-06-01", "41 234.00"), ("2024-07-01", "39 876.00")),
    "jemperli": (("2024-06-01", "65 432.00"),),
    "zejula": (("2024-06-01", "38 765.00"),),
}
PACKS = {  # drug_id: what one pack is (strength x count); the price is per pack
    "alecensa": "150 mg x 224", "cotellic": "20 mg x 63", "erivedge": "150 mg x 28",
    "phesgo": "600 mg/600 mg x 1", "rozlytrek": "200 mg x 90", "tecentriq": "1200 mg x 1",
    "tecentriq-avastin": "1200 mg/400 mg x 1", "zelboraf": "240 mg x 56",
    "mekinist": "2 mg x 30", "tafinlar": "75 mg x 120", "piqray": "150 mg x 56",
    "tabrecta": "200 mg x 120", "zykadia": "150 mg x 150", "imatinib": "400 mg x 30",
    "lynparza": "150 mg x 56", "retsevmo": "80 mg x 56", "jemperli": "500 mg x 1",
    "zejula": "100 mg x 56",
}
PRICE_RECORDED = {("lynparza", "2023-04-01"): "2023-03-20", ("retsevmo", "2023-06-01"): "2023-05-22",
                  ("retsevmo", "2024-07-01"): "2024-06-17", ("jemperli", "2024-06-01"): "2024-05-21",
                  ("zejula", "2024-06-01"): "2024-05-21"}
"""When later prices were typed in (by Sykehusinnkjøp); the rest at go-live."""

# (drug_id, decision, case_ref, indication, decided_on): case references are illustrative
DECISIONS = (
    ("lynparza", Decision.INTRODUCED, "ID2019_041", "ovarian cancer, BRCA-mutated", "2019-11-18"),
    ("zelboraf", Decision.INTRODUCED, "ID2013_012", "melanoma, BRAF V600", "2013-06-24"),
    ("tecentriq", Decision.INTRODUCED, "ID2017_058", "non-small cell lung cancer", "2018-04-23"),
    ("tabrecta", Decision.INTRODUCED, "ID2021_033", "NSCLC, MET exon 14 skipping", "2021-09-20"),
    ("piqray", Decision.REJECTED, "ID2020_045", "breast cancer, PIK3CA-mutated", "2021-02-22"),
    ("retsevmo", Decision.INTRODUCED, "ID2020_079", "NSCLC, RET fusion", "2021-08-23"),
    ("jemperli", Decision.INTRODUCED, "ID2021_012", "endometrial cancer, dMMR", "2022-05-23"),
)


@dataclass(frozen=True)
class AgreementPlan:
    agreement_id: str
    company: str  # name as in the drug list
    signed_on: str
    recorded_on: str
    grant: Money  # per patient, stages 1 and 2
    slots: tuple[tuple[str, int], ...]


def _nok(amount: str) -> Money:
    return Money.of(Decimal(amount), "NOK")


AGREEMENTS = (
    AgreementPlan("roche-norge-impress", "Roche Norge AS", "2021-03-15", "2021-11-03",
                  _nok("50000"), tuple((drug, 21) for drug in (
                      "alecensa", "cotellic", "erivedge", "phesgo", "rozlytrek", "tecentriq",
                      "tecentriq-avastin", "zelboraf"))),  # 8 x 21 = 168
    AgreementPlan("novartis-norge-impress", "Novartis Norge AS", "2021-04-12", "2021-11-03",
                  _nok("50000"), (("mekinist", 17), ("tafinlar", 17), ("piqray", 17),
                                  ("tabrecta", 17), ("zykadia", 16), ("imatinib", 16))),  # 100
    # The expansion agreement has no per-patient grant: the company pays the first 16 weeks.
    AgreementPlan("astrazeneca-impress-expansion", "AstraZeneca AS", "2021-12-13", "2021-12-14",
                  _nok("0"), (("lynparza", 150),)),
    AgreementPlan("eli-lilly-norge-impress", "Eli Lilly Norge AS", "2023-06-19", "2023-06-19",
                  _nok("50000"), (("retsevmo", 24),)),
    # Signed in EUR (the project card's reading of the grant): totals stay apart from NOK.
    AgreementPlan("glaxosmithkline-impress", "GlaxoSmithKline AS", "2024-06-10", "2024-06-10",
                  Money.of(Decimal("50000"), "EUR"), (("jemperli", 24), ("zejula", 24))),
)

# (recorded_on, agreement_id, drug_id, new slots, reason): moves 8 of Roche's slots, total 168
AMENDMENTS = (
    ("2022-12-12", "roche-norge-impress", "erivedge", 13,
     "8 slots moved from Erivedge to Zelboraf for the BRAF cohort's stage 2; Roche total stays 168"),
    ("2022-12-12", "roche-norge-impress", "zelboraf", 29,
     "8 slots moved from Erivedge to Zelboraf for the BRAF cohort's stage 2; Roche total stays 168"),
)


# --- cohorts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortPlan:
    cohort_id: str
    drug_id: str
    agreement_id: str
    indication: str
    profile: str
    opened_on: str
    evidence: str | None = None  # a partner trial's evidence opens an expansion cohort


OLAPARIB, VEMURAFENIB, CAPMATINIB = "olaparib-brca", "vemurafenib-braf", "capmatinib-met"
ATEZOLIZUMAB, SELPERCATINIB, DOSTARLIMAB = "atezolizumab-tmb", "selpercatinib-ret", "dostarlimab-dmmr"

COHORTS = (
    CohortPlan(OLAPARIB, "lynparza", "astrazeneca-impress-expansion", "solid tumours",
               "biallelic BRCA1/2 inactivation", "2022-01-10", "DRUP: first 24 patients"),
    CohortPlan(VEMURAFENIB, "zelboraf", "roche-norge-impress", "solid tumours other than melanoma",
               "BRAF V600 mutation", "2022-01-24"),
    CohortPlan(CAPMATINIB, "tabrecta", "novartis-norge-impress", "solid tumours other than NSCLC",
               "MET exon 14 skipping or MET amplification", "2022-02-21"),
    CohortPlan(ATEZOLIZUMAB, "tecentriq", "roche-norge-impress", "solid tumours",
               "high tumour mutational burden (>= 10 mut/Mb)", "2023-05-02"),
    CohortPlan(SELPERCATINIB, "retsevmo", "eli-lilly-norge-impress",
               "solid tumours other than NSCLC and thyroid cancer", "RET fusion", "2023-09-04"),
    CohortPlan(DOSTARLIMAB, "jemperli", "glaxosmithkline-impress",
               "solid tumours other than endometrial cancer", "dMMR / MSI-high", "2024-09-02"),
)

EXEMPTION = ("BF-2022-gruppeunntak-IMPRESS-olaparib", "2022-09-26", "2022-10-01")
"""(reference, decided and recorded on, effective from): Beslutningsforum's 2022 group exemption
for the expansion cohort (the date is illustrative). Until it applies, benefit is a gap."""
STAGE_2_DECISION = (VEMURAFENIB, "2022-12-05")  # 2 of the first 8 with benefit by then
CLOSURE = (CAPMATINIB, "2023-03-27", "stage 1 complete: none of the first 8 patients had "
           "clinical benefit at 16 weeks")


# --- patients ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Course:
    """One patient's course. The 16-week scan is on start + 107..110 days (by study number) and
    typed in `assessment_lag` days later; progression at the scan ends treatment that day.
    The `typed_*` fields are what was typed first and corrected later."""

    pid: str
    cohort: str
    hf: str
    enrolled: str
    outcome: Outcome | None = None  # None: not assessed by the end of the story
    ended: tuple[int, EndReason] | None = None  # days after start; None: see above, or on treatment
    start_after: int = 7
    assessment_lag: int = 2
    transfer: tuple[str, str] | None = None  # (to_hf, effective_from)
    typed_hf: str | None = None
    typed_start: str | None = None
    typed_outcome: Outcome | None = None
    typed_first_packs: int | None = None


OR, SD = Outcome.OBJECTIVE_RESPONSE, Outcome.STABLE_DISEASE
PD, NE = Outcome.PROGRESSIVE_DISEASE, Outcome.NOT_EVALUABLE
PROG, TOX, DEATH = EndReason.PROGRESSION, EndReason.TOXICITY, EndReason.DEATH
CHOICE = EndReason.PATIENT_CHOICE

FINANCING_GAP = "IMP-0002"  # benefit in June 2022, before the group exemption applied
TRANSFERRED = "IMP-0020"  # helse-bergen (Helse Vest) -> ous (Helse Sør-Øst) after the takeover
LATE_ASSESSMENT = "IMP-0030"  # scan 2023-12-21, typed in 2024-01-23
ASSESSMENT_CORRECTED = "IMP-0024"  # progression typed for stable disease
START_CORRECTED = "IMP-0027"  # 2023-06-12 typed for 2023-06-21
DISPENSATION_CORRECTED = "IMP-0006"  # 40 packs typed for 4
HF_CORRECTED = "IMP-0004"  # Ahus picked for Sykehuset Østfold

COURSES = (
    Course("IMP-0001", VEMURAFENIB, "ous", "2022-02-07", PD),
    Course("IMP-0002", OLAPARIB, "st-olavs", "2022-02-14", SD, (455, PROG)),
    Course("IMP-0003", VEMURAFENIB, "helse-bergen", "2022-02-21", SD, (330, PROG)),
    Course("IMP-0004", CAPMATINIB, "so", "2022-03-07", PD, typed_hf="ahus"),
    Course("IMP-0005", OLAPARIB, "ous", "2022-03-14", PD),
    Course("IMP-0006", VEMURAFENIB, "unn", "2022-03-28", PD, typed_first_packs=40),
    Course("IMP-0007", CAPMATINIB, "helse-stavanger", "2022-04-11", NE, (60, TOX)),
    Course("IMP-0008", OLAPARIB, "helse-stavanger", "2022-04-19", OR, (660, TOX)),
    Course("IMP-0009", VEMURAFENIB, "sthf", "2022-05-02", NE, (50, TOX)),
    Course("IMP-0010", CAPMATINIB, "st-olavs", "2022-05-16", PD),
    Course("IMP-0011", VEMURAFENIB, "helse-more-og-romsdal", "2022-06-07", OR, (540, PROG)),
    Course("IMP-0012", CAPMATINIB, "sykehuset-innlandet", "2022-06-20", PD),
    Course("IMP-0013", VEMURAFENIB, "nordlandssykehuset", "2022-07-04", PD),
    Course("IMP-0014", CAPMATINIB, "helse-fonna", "2022-08-15", PD),
    Course("IMP-0015", VEMURAFENIB, "siv", "2022-08-22", PD),
    Course("IMP-0016", OLAPARIB, "unn", "2022-08-29", SD, (380, PROG)),
    Course("IMP-0017", CAPMATINIB, "ahus", "2022-09-12", NE, (70, DEATH)),
    Course("IMP-0018", VEMURAFENIB, "sshf", "2022-09-26", SD, (280, PROG)),
    Course("IMP-0019", CAPMATINIB, "vestre-viken", "2022-10-10", PD),
    Course("IMP-0020", OLAPARIB, "helse-bergen", "2022-11-07", OR, (819, PROG),
           transfer=("ous", "2023-08-14")),
    Course("IMP-0021", CAPMATINIB, "helse-nord-trondelag", "2022-11-21", PD),
    Course("IMP-0022", OLAPARIB, "ahus", "2023-01-16", PD),
    Course("IMP-0023", VEMURAFENIB, "helse-forde", "2023-01-23", SD, (400, PROG)),
    Course("IMP-0024", OLAPARIB, "sshf", "2023-04-11", SD, (420, PROG), typed_outcome=PD),
    Course("IMP-0025", VEMURAFENIB, "st-olavs", "2023-04-24", PD),
    Course("IMP-0026", ATEZOLIZUMAB, "ous", "2023-05-22", PD),
    Course("IMP-0027", OLAPARIB, "helse-fonna", "2023-06-05", SD, (460, PROG), start_after=16,
           typed_start="2023-06-12"),
    Course("IMP-0028", VEMURAFENIB, "ahus", "2023-07-10", OR),
    Course("IMP-0029", ATEZOLIZUMAB, "helse-nord-trondelag", "2023-08-14", NE, (45, TOX)),
    Course("IMP-0030", OLAPARIB, "vestre-viken", "2023-08-28", SD, (520, DEATH), assessment_lag=33),
    Course("IMP-0031", SELPERCATINIB, "helse-stavanger", "2023-10-02", OR),
    Course("IMP-0032", VEMURAFENIB, "unn", "2023-10-16", PD),
    Course("IMP-0033", ATEZOLIZUMAB, "sthf", "2023-11-06", PD),
    Course("IMP-0034", OLAPARIB, "nordlandssykehuset", "2024-01-15", SD),
    Course("IMP-0035", ATEZOLIZUMAB, "helse-bergen", "2024-02-05", SD),
    Course("IMP-0036", SELPERCATINIB, "unn", "2024-02-12", PD),
    Course("IMP-0037", VEMURAFENIB, "helse-stavanger", "2024-03-04", SD, (300, CHOICE)),
    Course("IMP-0038", ATEZOLIZUMAB, "sykehuset-innlandet", "2024-05-13", PD),
    Course("IMP-0039", OLAPARIB, "helse-more-og-romsdal", "2024-06-03", PD),
    Course("IMP-0040", SELPERCATINIB, "ahus", "2024-06-17", PD),
    Course("IMP-0041", ATEZOLIZUMAB, "unn", "2024-08-19", PD),
    Course("IMP-0042", VEMURAFENIB, "so", "2024-09-09", OR),
    Course("IMP-0043", DOSTARLIMAB, "ahus", "2024-10-07", OR),
    Course("IMP-0044", OLAPARIB, "ous", "2024-11-04", SD),
    Course("IMP-0045", ATEZOLIZUMAB, "vestre-viken", "2024-11-18", NE, (80, CHOICE)),
    Course("IMP-0046", SELPERCATINIB, "helse-forde", "2024-11-25", SD),
    Course("IMP-0047", DOSTARLIMAB, "helse-bergen", "2025-01-13", SD),
    Course("IMP-0048", ATEZOLIZUMAB, "so", "2025-02-10"),  # 16-week report not in yet
    Course("IMP-0049", OLAPARIB, "st-olavs", "2025-03-10"),  # still in company coverage
    Course("IMP-0050", SELPERCATINIB, "siv", "2025-03-24"),
    Course("IMP-0051", DOSTARLIMAB, "st-olavs", "2025-04-07"),
)

REGIMENS = {  # drug_id: (packs per dispensation, days between dispensations)
    "lynparza": (2, 28), "zelboraf": (4, 28), "tabrecta": (2, 28),
    "tecentriq": (1, 21), "retsevmo": (2, 28), "jemperli": (1, 21),
}

# pid: (invoiced days after start, paid days after the invoice or None: outstanding)
GRANT_PAPERS: dict[str, tuple[int, int | None]] = {
    **{pid: (30, 35) for pid in ("IMP-0001", "IMP-0003", "IMP-0009", "IMP-0011", "IMP-0013",
                                 "IMP-0015", "IMP-0018")},
    "IMP-0006": (30, 40), "IMP-0023": (30, 45), "IMP-0025": (30, 45), "IMP-0028": (30, 45),
    "IMP-0032": (30, None), "IMP-0037": (30, 30), "IMP-0042": (30, None),
    **{pid: (30, 30) for pid in ("IMP-0004", "IMP-0007", "IMP-0010", "IMP-0012", "IMP-0014",
                                 "IMP-0017", "IMP-0019", "IMP-0021")},
    "IMP-0026": (30, 40), "IMP-0029": (30, 40), "IMP-0033": (30, 40), "IMP-0035": (30, None),
    "IMP-0038": (30, None), "IMP-0031": (30, 45), "IMP-0036": (30, None),
    "IMP-0043": (30, 40), "IMP-0047": (30, None),
}
