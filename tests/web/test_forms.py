"""Recording through the pages: the same write service as the API, so a refusal records
nothing and shows the ledger's message by its field, a double submit records once, and a form
without this session's token is refused."""

from __future__ import annotations

import re

from tests.web.conftest import Pages

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def form_key(pages: Pages, path: str) -> str:
    found = KEY.search(pages.get(path).text)
    assert found, path
    return found.group(1)


def test_a_refused_start_records_nothing_and_shows_the_ledgers_message_by_the_date(
        pages: Pages) -> None:
    pages.sign_in("trial_office")
    head = pages.ledger.log.head()
    key = form_key(pages, "/record/IMP-0030/start")
    answer = pages.post("/record/IMP-0030/start", {"started_on": "2023-01-02",
                                                   "idempotency_key": key})
    assert answer.status_code == 422
    assert pages.ledger.log.head() == head
    field = re.search(r'<p class="error" id="started_on-error">([^<]+)</p>', answer.text)
    assert field and "started treatment on 2023-09-04" in field.group(1)
    assert 'id="started_on" name="started_on" aria-invalid="true"' in answer.text


def test_a_form_that_cannot_be_read_records_nothing_and_says_which_field(pages: Pages) -> None:
    pages.sign_in("trial_office")
    head = pages.ledger.log.head()
    key = form_key(pages, "/record/IMP-0030/dispensation")
    answer = pages.post("/record/IMP-0030/dispensation",
                        {"packs": "many", "dispensed_on": "2024-02-01", "idempotency_key": key})
    assert answer.status_code == 422
    assert 'id="packs-error"' in answer.text
    assert pages.ledger.log.head() == head


def test_a_double_submit_records_once(pages: Pages) -> None:
    pages.sign_in("trial_office")
    head = pages.ledger.log.head()
    key = form_key(pages, "/record/IMP-0030/dispensation")
    data = {"packs": "2", "dispensed_on": "2024-03-01", "idempotency_key": key}
    first = pages.post("/record/IMP-0030/dispensation", data)
    second = pages.post("/record/IMP-0030/dispensation", data)
    assert first.status_code == second.status_code == 303
    after = pages.ledger.log.head()
    assert after > head
    assert first.headers["location"] == f"/patients/IMP-0030?recorded={after}&replayed=0"
    assert second.headers["location"] == f"/patients/IMP-0030?recorded={after}&replayed=1"
    facts = [f for f in pages.ledger.log.read(after=head) if f.type == "DrugDispensed"]
    assert len(facts) == 1 and facts[0].actor["subject"] == "dev:trial_office:impress"


def test_each_rendered_form_has_its_own_key(pages: Pages) -> None:
    pages.sign_in("trial_office")
    assert form_key(pages, "/record/enrolment") != form_key(pages, "/record/enrolment")


def test_an_enrolment_is_recorded_and_the_patient_page_says_so(pages: Pages) -> None:
    pages.sign_in("trial_office")
    key = form_key(pages, "/record/enrolment")
    answer = pages.post("/record/enrolment", {
        "patient_id": "IMP-0999", "cohort_id": "olaparib-brca", "hf_id": "helse-bergen",
        "enrolled_on": "2025-06-02", "idempotency_key": key})
    assert answer.status_code == 303, answer.text
    page = pages.get(answer.headers["location"])
    assert page.status_code == 200 and 'id="recorded"' in page.text
    assert pages.ledger.case("IMP-0999").patient.hf_id == "helse-bergen"


def test_a_national_identity_number_is_refused_and_never_echoed(pages: Pages) -> None:
    pages.sign_in("trial_office")
    head = pages.ledger.log.head()
    key = form_key(pages, "/record/enrolment")
    answer = pages.post("/record/enrolment", {
        "patient_id": "01010110013", "cohort_id": "olaparib-brca", "hf_id": "helse-bergen",
        "enrolled_on": "2025-06-02", "idempotency_key": key})
    assert answer.status_code == 422
    assert "01010110013" not in answer.text
    assert pages.ledger.log.head() == head


def test_a_missing_or_forged_form_token_is_refused_and_records_nothing(pages: Pages) -> None:
    pages.sign_in("trial_office")
    head = pages.ledger.log.head()
    key = form_key(pages, "/record/IMP-0030/dispensation")
    data = {"packs": "1", "dispensed_on": "2024-03-01", "idempotency_key": key}
    missing = pages.client.post("/record/IMP-0030/dispensation", data=data,
                                follow_redirects=False)
    forged = pages.post("/record/IMP-0030/dispensation", data, csrf="x" * 43)
    assert missing.status_code == forged.status_code == 403
    assert pages.ledger.log.head() == head


def test_sign_in_itself_needs_the_form_token(pages: Pages) -> None:
    answer = pages.client.post("/sign-in", data={"role": "auditor", "organisation": "impress"},
                               follow_redirects=False)
    assert answer.status_code == 403
    assert pages.get("/").status_code == 200 and "/sign-in" in str(pages.get("/").url)


def test_only_the_trial_office_records(pages: Pages) -> None:
    pages.sign_in("rhf_finance", "helse-vest")
    assert pages.get("/record/IMP-0030/start").status_code in (403, 404)
