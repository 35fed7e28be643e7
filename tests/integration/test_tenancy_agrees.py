"""The one tenancy rule (application.access.View, ADR 0016) and the read models' SQL form of it
(projections.payers.Tenancy.of, ADR 0021) see the same patients, for every role and every
organisation on the demo history; and what the answers about a visible patient rest on (its
cohort, agreement and drug) is visible to the same actor, as the routes assume when they judge
those references without folding a stream. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from application import access
from application.access import View
from application.ledger import Ledger
from domain.values import Actor
from projections import queries
from projections import rows as r
from projections.payers import Tenancy
from projections.whopays import WhoPaysView
from tests.integration.test_payers_and_due import loaded  # noqa: F401 (a fixture: the demo)


def actors(ledger: Ledger) -> list[Actor]:
    """Every role, a partner for every company and an RHF officer for every region."""
    ws = ledger.workspace()
    companies = [s.partition("/")[2] for s in ledger.log.streams("company/")]
    regions = sorted({t.rhf_id for t in ws.registry().trusts.values()})
    out = [Actor(subject="x", role=role, organisation="impress") for role in access.ROLES
           if role not in (access.PARTNER, access.RHF_FINANCE)]
    out += [Actor(subject="x", role=access.PARTNER, organisation=c) for c in companies]
    out += [Actor(subject="x", role=access.RHF_FINANCE, organisation=o) for o in regions]
    return out


def test_the_read_models_tenancy_sees_exactly_the_patients_the_view_sees(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    ledger, models = loaded
    everyone = [s.partition("/")[2] for s in ledger.log.streams("patient/")]
    seen_by_some_scoped_actor = 0
    for actor in actors(ledger):
        view = View(actor, ledger.workspace())
        scope, params = Tenancy.of(actor).where(models, "p")
        in_sql = {p.patient_id for p in models.rows(r.PATIENTS, None, " AND ".join(scope) or
                                                    "1 = 1", params, alias="p")}
        assert in_sql == {p for p in everyone if view.patient_id(p)}, actor
        if view.scoped:
            seen_by_some_scoped_actor += len(in_sql)
    assert 0 < seen_by_some_scoped_actor  # the demo gives scoped actors something to see


def test_what_an_answer_about_a_visible_patient_rests_on_is_visible_too(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    ledger, models = loaded
    for actor in actors(ledger):
        view = View(actor, ledger.workspace())
        scope, params = Tenancy.of(actor).where(models, "p")
        for p in models.rows(r.PATIENTS, None, " AND ".join(scope) or "1 = 1", params, alias="p"):
            for stream in (f"cohort/{p.cohort_id}", f"agreement/{p.agreement_id}",
                           f"drug/{p.drug_id}", f"patient/{p.patient_id}"):
                assert view.sees_ref(stream), (actor, stream)


def test_a_patient_outside_the_actors_tenancy_is_not_found_or_not_yours_to_who_pays(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    ledger, models = loaded
    from domain import errors as err

    vest = Actor(subject="x", role=access.RHF_FINANCE, organisation="helse-vest")
    view = View(vest, ledger.workspace())
    everyone = [s.partition("/")[2] for s in ledger.log.streams("patient/")]
    hidden = [p for p in everyone if not view.patient_id(p)]
    shown = [p for p in everyone if view.patient_id(p)]
    assert hidden and shown
    on = ledger.workspace().patient(shown[0]).enrolled_on
    assert on is not None
    assert queries.who_pays(models, vest, shown[0], on).patient_id == shown[0]
    # "not found, or not yours": the same answer as for a patient never enrolled (ADR 0016)
    with pytest.raises(err.NotFoundOrNotYours) as other_regions:
        queries.who_pays(models, vest, hidden[0], on)
    with pytest.raises(err.NotFoundOrNotYours) as nobody:
        queries.who_pays(models, vest, "IMP-99999", on)
    assert str(other_regions.value).replace(hidden[0], "?") == \
        str(nobody.value).replace("IMP-99999", "?")


def test_a_view_told_the_read_models_judgement_sees_what_the_view_alone_sees(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    """The served View asks the read models (one patient, or many at once) before it folds a
    stream: for every actor and patient, and an id never enrolled, the same answer, and a
    patient the read models show is judged without folding."""
    from functools import partial

    ledger, models = loaded
    everyone = [s.partition("/")[2] for s in ledger.log.streams("patient/")] + ["IMP-99999"]
    folded_for_a_shown_patient = []
    for actor in actors(ledger):
        alone = View(actor, ledger.workspace())
        told = partial(queries.visible_patients, models, actor)
        shown = set(told(None))

        def workspace(actor: Actor = actor) -> Any:
            folded_for_a_shown_patient.append(actor)
            return ledger.workspace()

        one = View(actor, lambda: ledger.workspace(), visible=told)
        many = View(actor, lambda: ledger.workspace(), visible=told).judge(everyone)
        for patient_id in everyone:
            expected = alone.patient_id(patient_id)
            assert one.patient_id(patient_id) is expected, (actor, patient_id)
            assert many.patient_id(patient_id) is expected, (actor, patient_id)
        if alone.scoped:
            assert shown == {p for p in everyone if alone.patient_id(p)}, actor
            strict = View(actor, workspace, visible=told).judge(shown)
            assert all(strict.patient_id(p) for p in shown)
    assert not folded_for_a_shown_patient


def test_the_patients_list_pages_through_exactly_the_patients_the_view_sees(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    """The patients page's list (projections.queries.patients): a page at a time, the pages
    together are the patients the actor sees, in id order, each once, with the whole list's
    count on every page; filtered by cohort and by a health trust treating the patient at
    some time as the patients' own states say."""
    ledger, models = loaded
    ws = ledger.workspace()
    cases = {c.patient.patient_id: c.patient for c in ledger.cases()}
    some_cohort = sorted({p.cohort_id for p in cases.values()})[1]
    moved = next(p for p in cases.values() if len(p.hf_periods) > 1)  # a transfer in the demo
    earlier_hf = moved.hf_periods[0].value
    for actor in actors(ledger):
        view = View(actor, ws)
        for cohort, hf in ((None, None), (some_cohort, None), (None, earlier_hf)):
            expected = sorted(
                p for p, patient in cases.items() if view.patient_id(p)
                and (cohort is None or patient.cohort_id == cohort)
                and (hf is None or hf in {h.value for h in patient.hf_periods}))
            listed, after, pages = [], None, 0
            while True:
                page = queries.patients(models, actor, cohort=cohort, hf=hf, after=after, limit=3)
                assert page.total == len(expected), (actor, cohort, hf)
                listed += [row.patient_id for row in page.rows]
                pages += 1
                if page.after is None:
                    break
                after = page.after
            assert listed == expected, (actor, cohort, hf)
            assert pages == max(1, -(-len(expected) // 3)) or len(expected) % 3 == 0
        if actor.role == access.PARTNER:  # the cohort filter's choices: its patients' cohorts
            assert queries.partner_cohorts(models, actor) == sorted(
                {patient.cohort_id for p, patient in cases.items() if view.patient_id(p)})
    assert earlier_hf != moved.hf_id  # the filter reaches a trust the patient has left


def test_a_question_about_one_patient_reads_it_by_its_key_whatever_the_tenancy(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    """Who pays, and judging one patient or a few, name the patients: the database must find
    them by the tables' keys, not by a partner's company index (at M a company holds a third of
    the patients, and a partner's who-pays answer read them all: 7.5 ms instead of 60 us).
    Asked of SQLite's query plans; PostgreSQL plans by its statistics."""
    ledger, models = loaded
    if models.db.postgres:
        pytest.skip("SQLite's plans: PostgreSQL chooses by its statistics")
    partner = next(a for a in actors(ledger) if a.role == access.PARTNER)
    patient_id = queries.visible_patients(models, partner)[0]
    asks = queries._payer_asks(models, partner, patient_id, date(2023, 9, 1))
    sql, params = models._first_sql(None, asks)
    among, ids = models.among("p.patient_id", [patient_id])
    where, values = Tenancy.of(partner).where(models, "p", by_id=True)
    judged = (f"SELECT p.patient_id FROM {models.name(r.PATIENTS)} p WHERE "
              f"{' AND '.join([among, *where])}")
    for statement, args in ((sql, params), (judged, [*ids, *values])):
        with models.db.reading() as cur:
            plan = " ".join(str(row[-1]) for row in cur.rows(f"EXPLAIN QUERY PLAN {statement}",
                                                             args))
        assert "company_id" not in plan, plan
        assert "autoindex" in plan, plan  # the key's index
