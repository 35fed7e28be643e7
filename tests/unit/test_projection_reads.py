"""Which fact types the read models' projectors read (projections.folds.SKIPPED_TYPES): every
type is classified, and a skipped fact never changes what the models' rows rest on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, NoReturn

from hypothesis import given

from domain import commands as c
from domain import events as ev
from domain import state as s
from domain.financing import Case, timeline
from domain.values import Outcome, ref
from domain.statements import compute as cp
from domain.statements import worklist as wl
from domain.workspace import REGISTRY
from projections.folds import (_BOOKKEEPING, READ_TYPES, READS, SKIPPED_TYPES, PatientIndex,
                               kind_of, reaches, types_read)
from tests.strategies import HISTORY_SETTINGS, History, histories, play
from tests.support import d, enrol, expansion_book


def test_every_fact_type_is_classified_as_read_or_skipped() -> None:
    # A new fact type fails here until someone decides whether it can change a who-pays row.
    unclassified = set(ev.EVENT_TYPES) - READ_TYPES - SKIPPED_TYPES
    assert not unclassified, f"classify in projections/folds.py: {sorted(unclassified)}"
    assert not READ_TYPES & SKIPPED_TYPES
    assert (READ_TYPES | SKIPPED_TYPES) <= set(ev.EVENT_TYPES), "a classified type is gone"


def test_a_projector_reads_every_type_not_skipped_and_verify_reads_everything() -> None:
    assert set(types_read()) == set(ev.EVENT_TYPES) - SKIPPED_TYPES
    assert "PatientEnrolled" in types_read() and "PatientSlotUsed" not in types_read()
    assert types_read(frozenset({"a type not yet classified"})) == tuple(sorted(ev.EVENT_TYPES))
    assert types_read(frozenset()) == ()  # no filter at all


@given(history=histories())
@HISTORY_SETTINGS
def test_no_skipped_fact_in_any_history_changes_what_the_rows_rest_on(history: History) -> None:
    """Folded in log order, every fact of a skipped type is on a stream the models do not read,
    or changes only bookkeeping fields of its stream (and, of a drug, no price): the projector
    would not recompute for it."""
    states: dict[str, object] = {}
    everyone = PatientIndex(loaded=True)
    for stream, version, event in play(history).book.log:
        before = states.get(stream) or s.empty(stream)
        after = states[stream] = s.evolve(before, event, ref(stream, version))
        if isinstance(event, ev.PatientEnrolled):
            everyone.add(event.patient_id, event.cohort_id, event.agreement_id, version)
        if event.type not in SKIPPED_TYPES:
            continue
        kind, identifier = kind_of(stream)
        if kind == "drug":
            assert (before.prices, before.exists) == (after.prices, after.exists), event.type
            continue
        assert kind not in READS or reaches(kind, identifier, before, after, everyone) == set(), (
            f"{event.type} on {stream} changes a field the rows read")
        if kind == "agreement":
            assert cp.slot_rows(before, 7) == cp.slot_rows(after, 7), event.type


class Untouchable:
    """Stands in for a bookkeeping field: any use of it (compared, iterated, printed...) fails."""

    def _used(self, *_: Any) -> NoReturn:
        raise AssertionError("the who-pays rows read a bookkeeping field")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _used  # type: ignore[assignment]
    __bool__ = __len__ = __iter__ = __hash__ = __index__ = _used  # type: ignore[assignment]
    __str__ = __repr__ = __format__ = __getattr__ = _used  # type: ignore[assignment]


def untouchable(state: Any, kind: str) -> Any:
    return replace(state, **{f: Untouchable() for f in _BOOKKEEPING[kind]})


@given(history=histories())
@HISTORY_SETTINGS
def test_the_rows_never_read_a_bookkeeping_field(history: History) -> None:
    """The premise of skipping: a patient's rows are the same whatever the bookkeeping fields
    of its patient, cohort and agreement hold (folds._BOOKKEEPING)."""
    book = play(history).book
    for pid in play_patients(book):
        case = book.case(pid)
        blind = Case(untouchable(case.patient, "patient"), untouchable(case.cohort, "cohort"),
                     untouchable(case.agreement, "agreement"), case.registry)
        assert cp.interval_rows(blind, 7) == cp.interval_rows(case, 7)
        assert cp.patient_row(blind, 1, 7) == cp.patient_row(case, 1, 7)


def play_patients(book: Any) -> list[str]:
    return sorted({stream.partition("/")[2] for stream, _, _ in book.log
                   if stream.startswith("patient/")})


@given(history=histories())
@HISTORY_SETTINGS
def test_after_a_patient_fact_that_leaves_the_dispensations_only_lines_costed_otherwise_change(
        history: History) -> None:
    """compute.changed_lines, which the projector uses after a start, an assessment, an end, a
    transfer or a correction of one: its changed lines hold every line that differs from the
    lines before the fact (the others are left as they are held), and its lines at stake are
    exactly the full recompute's."""
    book = play(history).book
    states: dict[str, Any] = {}

    def drug(drug_id: str) -> Any:
        return states.get(f"drug/{drug_id}") or s.empty(f"drug/{drug_id}")

    for stream, version, event in book.log:
        before = states.get(stream) or s.empty(stream)
        after = states[stream] = s.evolve(before, event, ref(stream, version))
        if not (stream.startswith("patient/") and after.dispensations
                and before.dispensations is after.dispensations):
            continue
        others = (states[f"cohort/{after.cohort_id}"], states[f"agreement/{after.agreement_id}"],
                  states.get(REGISTRY) or s.empty(REGISTRY))
        was, now = Case(before, *others), Case(after, *others)
        old, new = cp.cost_lines(was, drug, 9), cp.cost_lines(now, drug, 9)
        changed, stakes = cp.changed_lines(now, was, drug, 9, timeline(now), timeline(was),
                                           wl.costed_at_stake)
        # every line that differs, and none that is not now (a costing can differ where the
        # line does not: the payer's basis, which a line holds only with a gap)
        assert [x for x in changed if x not in old] == [x for x in new if x not in old], event.type
        assert all(x in new for x in changed), event.type
        assert stakes == [x for x in new if wl.at_stake(x)], event.type


def test_an_assessment_and_a_transfer_change_the_lines_of_the_days_they_reach_and_no_other(
        ) -> None:
    book = expansion_book()
    enrol(book, "IMP-0001")  # helse-stavanger (Helse Vest), started 2023-06-12, 16 weeks
    for on in ("2023-06-19", "2023-08-14", "2023-10-09", "2023-10-30"):
        book.run(c.DispenseDrug(patient_id="IMP-0001", packs=2, dispensed_on=d(on)))
    drug = book.workspace().drug

    def relined(command: c.Command) -> tuple[list[date], list[date]]:
        was = book.case("IMP-0001")
        book.run(command)
        now = book.case("IMP-0001")
        changed, stakes = cp.changed_lines(now, was, drug, 9, timeline(now), timeline(was),
                                           wl.costed_at_stake)
        old, new = cp.cost_lines(was, drug, 9), cp.cost_lines(now, drug, 9)
        assert changed == [x for x in new if x not in old]
        assert stakes == [x for x in new if wl.at_stake(x)]
        return [x.on for x in changed], [x.on for x in stakes]

    # after the company's 16 weeks the last two waited for an assessment (at stake): now public
    assert relined(c.RecordAssessment(patient_id="IMP-0001", assessed_on=d("2023-09-28"),
                                      outcome=Outcome.STABLE_DISEASE)) == (
        [d("2023-10-09"), d("2023-10-30")], [])
    # a move to Oslo from 20 October: the last one's payer is Helse Sør-Øst
    assert relined(c.TransferPatient(patient_id="IMP-0001", to_hf="ous",
                                     effective_from=d("2023-10-20"))) == ([d("2023-10-30")], [])
    # progression: what was dispensed after it is at stake, and only that changed
    assert relined(c.CorrectAssessment(patient_id="IMP-0001", assessed_on=d("2023-10-01"),
                                       outcome=Outcome.PROGRESSIVE_DISEASE,
                                       reason="misread scan")) == (
        [d("2023-10-09"), d("2023-10-30")], [d("2023-10-09"), d("2023-10-30")])
