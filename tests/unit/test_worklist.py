"""The financing-gap worklist and upcoming company coverage ends, against hand-computed items.

The expansion patient starts 2023-06-12: the company covers through 2023-10-01 (start + 111
days), so anything the public side might owe starts on 2023-10-02.
"""

from __future__ import annotations

from datetime import date

from domain import commands as c
from domain import events as ev
from domain.financing import PayerKind
from domain.values import EndReason, Outcome
from reports.statements import Known, Period, Scope
from domain.statements.worklist import clipped, work_item_rows
from reports.worklist import Gap, upcoming, worklist
from tests.support import (
    Book,
    d,
    enrol,
    expansion_book,
    nok,
    recorded_unchecked,
    stage_book,
    with_company_and_drug,
)

PRICE = nok("12345.00")
PID = "IMP-0042"
YEAR = Period(d("2023-01-01"), d("2023-12-31"))
TAKEOVER = d("2023-10-02")


def known_of(book: Book, up_to: int | None = None) -> Known:
    streams = [s for s, _, _ in book.log[:up_to]]
    patients = sorted({s.partition("/")[2] for s in streams if s.startswith("patient/")})
    agreements = sorted({s.partition("/")[2] for s in streams if s.startswith("agreement/")})
    return Known.from_workspace(book.workspace(up_to=up_to), patients, agreements, len(streams))


def items(book: Book, period: Period = YEAR, scope: Scope = Scope.everything()) -> list[tuple[object, ...]]:
    return [(i.gap, i.patient_id, i.since, i.until, i.packs)
            for i in worklist(known_of(book), period, scope).items]


def dispense(book: Book, on: str, packs: int, pid: str = PID) -> None:
    book.run(c.DispenseDrug(patient_id=pid, packs=packs, dispensed_on=d(on)))


def story(*, exemption_from: str | None = "2023-03-20", outcome: Outcome | None = None,
          hf: str = "helse-stavanger") -> Book:
    book = expansion_book(price=PRICE, exemption_from=exemption_from)
    enrol(book, PID, hf=hf, on="2023-06-01", start="2023-06-12")
    for on in ("2023-06-12", "2023-10-09", "2023-11-06"):
        dispense(book, on, 2)
    if outcome is not None:
        book.run(c.RecordAssessment(patient_id=PID, assessed_on=d("2023-09-28"), outcome=outcome))
    return book


def test_past_16_weeks_with_no_assessment_is_pending_until_someone_records_it() -> None:
    book = story()
    [item] = worklist(known_of(book), YEAR, Scope.everything()).items
    assert (item.gap, item.since, item.until, item.packs) == (Gap.ASSESSMENT_MISSING, TAKEOVER,
                                                              None, 4)
    assert item.resolve.startswith("record the 16-week assessment")
    assert worklist(known_of(book), YEAR, Scope.everything()).to_dict()["totals"]["value"] == {
        "NOK": "49380.00"}  # the 9 October and 6 November packs: 4 x 12 345.00
    book.run(c.RecordAssessment(patient_id=PID, assessed_on=d("2023-09-28"),
                                outcome=Outcome.STABLE_DISEASE))
    assert items(book) == []  # the exemption is in force: the public side pays


def test_benefit_without_a_group_exemption_is_a_gap_until_the_exemption_applies() -> None:
    book = story(exemption_from=None, outcome=Outcome.OBJECTIVE_RESPONSE)
    [item] = worklist(known_of(book), YEAR, Scope.everything()).items
    assert (item.gap, item.since, item.until, item.packs) == (
        Gap.BENEFIT_WITHOUT_EXEMPTION, TAKEOVER, None, 4)
    assert item.resolve.startswith("a group exemption for cohort olaparib-brca")
    assert (item.hf_id, item.rhf_id) == ("helse-stavanger", "helse-vest")
    book.run(c.GrantGroupExemption(cohort_id="olaparib-brca", exemption_ref="BF-2023-11",
                                   effective_from=d("2023-11-01"), decided_on=d("2023-11-01")))
    # The gap is now 2 October .. 31 October, and only the 9 October packs fell in it.
    assert items(book) == [(Gap.BENEFIT_WITHOUT_EXEMPTION, PID, TAKEOVER, d("2023-10-31"), 2)]


def test_no_benefit_but_still_treated_is_a_gap_carried_by_the_treating_hf() -> None:
    book = story(outcome=Outcome.PROGRESSIVE_DISEASE)
    got = items(book)
    assert (Gap.TREATED_WITHOUT_BENEFIT, PID, TAKEOVER, None, 4) in got
    # ... and both later dispensations came after progression was assessed on 28 September.
    assert [g for g in got if g[0] is Gap.DISPENSED_AFTER_PROGRESSION] == [
        (Gap.DISPENSED_AFTER_PROGRESSION, PID, d("2023-10-09"), d("2023-10-09"), 2),
        (Gap.DISPENSED_AFTER_PROGRESSION, PID, d("2023-11-06"), d("2023-11-06"), 2),
    ]
    # An end before dispensations is refused today (ADR 0014); an older log may hold one.
    recorded_unchecked(book, f"patient/{PID}", ev.TreatmentEnded(
        patient_id=PID, ended_on=d("2023-09-30"), reason=EndReason.PROGRESSION))
    # Ended before the company's 16 weeks were over: no gap, but two dispensations after the end.
    assert [(g[0], g[2]) for g in items(book)] == [(Gap.DISPENSED_AFTER_END, d("2023-10-09")),
                                                  (Gap.DISPENSED_AFTER_END, d("2023-11-06"))]


def test_a_dispensation_after_the_end_names_itself_and_is_resolved_by_voiding_it() -> None:
    book = stage_book(price=PRICE)
    enrol(book, PID, cohort="lynparza-prostate", hf="ous", on="2021-04-01", start="2021-04-12")
    book.run(c.EndTreatment(patient_id=PID, ended_on=d("2021-08-31"), reason=EndReason.TOXICITY))
    # refused today (ADR 0014); an older log may hold one
    ref = recorded_unchecked(book, f"patient/{PID}", ev.DrugDispensed(
        patient_id=PID, drug_id="lynparza", packs=1, dispensed_on=d("2021-09-06")))
    [item] = worklist(known_of(book), Period(d("2021-01-01"), d("2021-12-31")),
                      Scope.everything()).items
    assert (item.gap, item.since, item.packs) == (Gap.DISPENSED_AFTER_END, d("2021-09-06"), 1)
    assert item.resolve == (f"correct or void the dispensation {ref}, "
                            "or correct the end of treatment")
    assert "treatment ended 2021-08-31 (toxicity)" in item.detail
    book.run(c.CorrectDispensation(patient_id=PID, dispensation=ref, packs=0,
                                   dispensed_on=d("2021-09-06"), reason="never handed out"))
    assert items(book, Period(d("2021-01-01"), d("2021-12-31"))) == []


def test_a_dispensation_before_treatment_started_has_no_payer() -> None:
    book = expansion_book(price=PRICE)
    enrol(book, PID, on="2023-06-01", start="2023-06-12")
    # refused today (ADR 0014); an older log may hold one
    recorded_unchecked(book, f"patient/{PID}", ev.DrugDispensed(
        patient_id=PID, drug_id="lynparza", packs=1, dispensed_on=d("2023-06-05")))
    june = Period(d("2023-06-01"), d("2023-06-30"))
    [item] = worklist(known_of(book), june, Scope.everything()).items
    assert (item.gap, item.since, item.packs) == (Gap.DISPENSED_WITHOUT_PAYER, d("2023-06-05"), 1)
    assert "or record (or correct) the treatment start" in item.resolve
    book.run(c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-06-05"),
                                     reason="first dose was given on the 5th"))
    assert items(book, june) == []


def test_a_gap_is_listed_only_for_periods_it_meets() -> None:
    book = story(exemption_from=None, outcome=Outcome.STABLE_DISEASE)
    assert items(book, Period(d("2023-01-01"), d("2023-09-30"))) == []
    assert len(items(book, Period(d("2024-01-01"), d("2024-03-31")))) == 1  # still open


def test_a_gap_across_a_transfer_is_one_item_but_each_region_sees_its_own_dates() -> None:
    book = story()
    book.run(c.TransferPatient(patient_id=PID, to_hf="unn", effective_from=d("2023-11-01")))
    [whole] = worklist(known_of(book), YEAR, Scope.everything()).items
    assert (whole.gap, whole.since, whole.until, whole.hf_id, whole.packs) == (
        Gap.ASSESSMENT_MISSING, TAKEOVER, None, "unn", 4)
    [vest] = worklist(known_of(book), YEAR, Scope.rhf("helse-vest")).items
    assert (vest.since, vest.until, vest.hf_id, vest.packs) == (TAKEOVER, d("2023-10-31"),
                                                               "helse-stavanger", 2)
    [nord] = worklist(known_of(book), YEAR, Scope.rhf("helse-nord")).items
    assert (nord.since, nord.until, nord.hf_id, nord.packs) == (d("2023-11-01"), None, "unn", 2)
    assert worklist(known_of(book), YEAR, Scope.rhf("helse-sor-ost")).items == ()


def test_a_partner_sees_the_gaps_of_its_own_patients_only() -> None:
    book = story()
    assert len(worklist(known_of(book), YEAR, Scope.company("nordlys")).items) == 1
    with_company_and_drug(book, company="fjord", drug="fjordinib")
    assert worklist(known_of(book), YEAR, Scope.company("fjord")).items == ()


# --- upcoming -------------------------------------------------------------------------------


def coverage_book() -> Book:
    """Three expansion patients whose company coverage ends 2023-10-01 (Helse Vest, assessed),
    2023-10-15 (OUS, not assessed) and 2023-12-31 (UNN); one stage patient (never ends)."""
    book = expansion_book(price=PRICE)
    enrol(book, "IMP-0001", hf="helse-stavanger", on="2023-06-01", start="2023-06-12",
          outcome=Outcome.STABLE_DISEASE, assessed="2023-09-28")
    enrol(book, "IMP-0002", hf="ous", on="2023-06-01", start="2023-06-26")
    enrol(book, "IMP-0003", hf="unn", on="2023-09-01", start="2023-09-11")
    book.run(c.OpenCohort(cohort_id="lynparza-prostate", drug_id="lynparza",
                          agreement_id="nordlys-impress", indication="prostate cancer",
                          molecular_profile="ATM loss", opened_on=d("2023-01-02")))
    enrol(book, "IMP-0004", cohort="lynparza-prostate", hf="ous", on="2023-06-01",
          start="2023-06-12")
    return book


def ending(book: Book, on: str, days: int, scope: Scope = Scope.everything()) -> list[tuple[object, ...]]:
    first = d(on)
    period = Period(first, date.fromordinal(first.toordinal() + days))
    return [(e.rhf_id, e.patient_id, e.last_covered_on, e.days_left, e.then.kind)
            for e in upcoming(known_of(book), period, scope).endings]


def test_upcoming_lists_company_coverage_ending_in_the_next_n_days_per_rhf() -> None:
    book = coverage_book()
    assert ending(book, "2023-09-20", 30) == [
        ("helse-sor-ost", "IMP-0002", d("2023-10-15"), 25, PayerKind.PENDING),
        ("helse-vest", "IMP-0001", d("2023-10-01"), 11, PayerKind.PUBLIC),
    ]
    # The window is inclusive: 11 days from 20 September reaches 1 October exactly.
    assert [e[1] for e in ending(book, "2023-09-20", 11)] == ["IMP-0001"]
    assert [e[1] for e in ending(book, "2023-09-20", 10)] == []
    assert ending(book, "2023-12-01", 60) == [
        ("helse-nord", "IMP-0003", d("2023-12-31"), 30, PayerKind.PENDING)]


def test_upcoming_for_an_rhf_shows_its_region_only() -> None:
    book = coverage_book()
    assert [e[1] for e in ending(book, "2023-09-20", 30, Scope.rhf("helse-vest"))] == ["IMP-0001"]


def test_upcoming_omits_a_patient_whose_treatment_ends_with_the_coverage() -> None:
    book = coverage_book()
    book.run(c.EndTreatment(patient_id="IMP-0002", ended_on=d("2023-10-15"),
                            reason=EndReason.COMPLETED))
    assert [e[1] for e in ending(book, "2023-09-20", 30)] == ["IMP-0001"]


def test_upcoming_says_what_comes_next() -> None:
    book = coverage_book()
    first = d("2023-09-20")
    endings = upcoming(known_of(book), Period(first, d("2023-10-20")), Scope.everything()).endings
    steps = {e.patient_id: e.next_step for e in endings}
    assert steps == {"IMP-0001": "helse-vest takes over",
                     "IMP-0002": "record the 16-week assessment (company covers through 2023-10-15)"}


def test_the_kept_rows_hold_a_gap_split_by_a_transfer_whole_for_everyone_and_per_region() -> None:
    book = story()
    book.run(c.TransferPatient(patient_id=PID, to_hf="unn", effective_from=d("2023-11-01")))
    known = known_of(book)
    [p] = known.patients([PID])
    rows = work_item_rows(p, known.intervals(), known.cost_lines(), known.position)
    assert sorted((x.seen_by, x.rhf_id, x.since, x.until, x.packs) for x in rows) == [
        ("all", "helse-nord", TAKEOVER, None, 4),
        ("rhf", "helse-nord", d("2023-11-01"), None, 2),
        ("rhf", "helse-vest", TAKEOVER, d("2023-10-31"), 2)]
    # a period from December sees only the second interval of everyone's item: worked out again
    [whole] = [x for x in rows if x.seen_by == "all"]
    assert clipped(whole, Period(d("2023-12-01"), d("2023-12-31")))
    assert not clipped(whole, Period(d("2023-01-01"), d("2024-12-31")))


def test_an_item_no_transfer_split_is_one_row_for_everyone_and_its_region() -> None:
    known = known_of(story())
    [p] = known.patients([PID])
    [row] = work_item_rows(p, known.intervals(), known.cost_lines(), known.position)
    assert (row.seen_by, row.rhf_id, row.packs, row.value) == ("both", "helse-vest", 4,
                                                                (("NOK", 4 * 1234500),))
    # a period that leaves out a dispensation at stake sees fewer packs: worked out again
    assert clipped(row, Period(d("2023-01-01"), d("2023-10-31")))
