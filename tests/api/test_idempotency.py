"""Idempotency-Key: a retry returns the first result and records nothing new; the key lives in
the facts themselves, so the index over it can be lost and rebuilt without a double record."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from application.idempotency import TABLE, TRACKING
from application.ledger import Ledger
from eventstore import EventLog, NewEvent, StoredFact
from tests.api.support import EXAMPLE, Api, settings_for

DISPENSE = "/v1/patients/IMP-0042/dispensations"
BODY = {"packs": 1, "dispensed_on": "2023-07-10"}


def key(k: str) -> dict[str, str]:
    return {"Idempotency-Key": k}


def test_a_retry_returns_the_first_result_and_records_nothing_new(any_db_api: Api) -> None:
    api = any_db_api
    first = api.post(DISPENSE, "trial_office", BODY, headers=key("k-1"))
    head = api.ledger.log.head()
    again = api.post(DISPENSE, "trial_office", BODY, headers=key("k-1"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert api.ledger.log.head() == head


def test_a_retry_is_replayed_even_where_doing_it_again_would_be_refused(api: Api) -> None:
    enrol = {"patient_id": "IMP-0099", "cohort_id": "olaparib-brca", "hf_id": "ous",
             "enrolled_on": "2023-09-01"}
    first = api.post("/v1/patients", "trial_office", enrol, headers=key("enrol-99"))
    assert api.post("/v1/patients", "trial_office", enrol).status_code == 409  # no key: refused
    again = api.post("/v1/patients", "trial_office", enrol, headers=key("enrol-99"))
    assert (again.status_code, again.json()) == (201, first.json())


def test_a_replay_holds_the_facts_the_ledger_derived_too(api: Api) -> None:
    api.post("/v1/patients", "trial_office", {"patient_id": "IMP-0043", "cohort_id":
             "olaparib-brca", "hf_id": "helse-bergen", "enrolled_on": "2023-08-01"})
    start = {"started_on": "2023-08-07"}
    first = api.post("/v1/patients/IMP-0043/treatment-start", "trial_office", start,
                     headers=key("start-43"))
    types = [f["type"] for f in first.json()["facts"]]
    assert types[0] == "TreatmentStarted" and "CompanyCoverageEnded" in types
    again = api.post("/v1/patients/IMP-0043/treatment-start", "trial_office", start,
                     headers=key("start-43"))
    assert again.json() == first.json()
    derived = next(f for f in api.get("/v1/patients/IMP-0043/history", "auditor").json()["facts"]
                   if f["type"] == "CompanyCoverageEnded")
    assert derived["actor"]["role"] == "system"  # the ledger's own fact (ADR 0008)
    assert derived["actor"]["request_id"] == first.headers["x-request-id"]


def test_the_same_key_with_another_request_is_refused(api: Api) -> None:
    api.post(DISPENSE, "trial_office", BODY, headers=key("k-2"))
    head = api.ledger.log.head()
    other = api.post(DISPENSE, "trial_office", {**BODY, "packs": 2}, headers=key("k-2"))
    elsewhere = api.post("/v1/patients/IMP-0050/dispensations", "trial_office", BODY,
                         headers=key("k-2"))
    for refused in (other, elsewhere):
        assert refused.status_code == 422
        assert refused.json()["type"].endswith("/idempotency-key-reused")
    assert api.ledger.log.head() == head


def test_keys_belong_to_the_subject_that_sent_them(api: Api) -> None:
    mine = api.post(DISPENSE, "trial_office", BODY, headers=key("shared"))
    theirs = api.client.post(DISPENSE, json=BODY, headers={
        "Authorization": f"Bearer {api.token('trial_office', subject='someone-else')}",
        **key("shared")})
    assert mine.status_code == theirs.status_code == 201
    assert theirs.json()["position"] > mine.json()["position"]


def test_a_lost_index_is_rebuilt_from_the_log_without_recording_twice(any_db_api: Api) -> None:
    api = any_db_api
    first = api.post(DISPENSE, "trial_office", BODY, headers=key("k-3"))
    # As if the process had died after the facts' commit, before the index saw them.
    with api.ledger.log.application.recorder.datastore.transaction(commit=True) as cur:
        cur.execute(f"DELETE FROM {TABLE}")
        cur.execute(f"UPDATE {TRACKING} SET position = 0")
    head = api.ledger.log.head()
    again = api.post(DISPENSE, "trial_office", BODY, headers=key("k-3"))
    assert again.json() == first.json()
    assert api.ledger.log.head() == head


PAYMENT = {"payment_ref": "PAY-1", "amount": {"amount": "100.00", "currency": "NOK"},
           "paid_on": "2022-05-01"}


def as_partner(api: Api, org: str, path: str, body: Any, k: str) -> Any:
    token = api.token("partner", org, subject="finance-office")  # the same subject for both
    return api.client.post(path, json=body, headers={"Authorization": f"Bearer {token}", **key(k)})


def test_two_partners_whose_tokens_share_a_subject_do_not_share_keys(api: Api) -> None:
    first = as_partner(api, "astrazeneca", "/v1/patients/IMP-0050/grant/payments", PAYMENT, "pay")
    assert first.status_code == 201
    head = api.ledger.log.head()
    # Another company's finance office, same subject, same key, same request: the patient is
    # not theirs, so it does not exist for them; the key does not make it theirs.
    theirs = as_partner(api, "roche-norge", "/v1/patients/IMP-0050/grant/payments", PAYMENT, "pay")
    assert theirs.status_code == 404
    assert "idempotent-replayed" not in theirs.headers
    assert api.ledger.log.head() == head
    # Their own request with the same key is theirs: recorded, not refused as a reused key.
    invoice = {"invoice_ref": "RN-INV-1", "invoiced_on": "2023-03-01"}
    assert api.post("/v1/patients/IMP-0007/grant/invoices", "trial_office", invoice).status_code == 201
    head = api.ledger.log.head()
    own = as_partner(api, "roche-norge", "/v1/patients/IMP-0007/grant/payments",
                     {**PAYMENT, "payment_ref": "RN-1", "paid_on": "2023-04-01"}, "pay")
    assert own.status_code == 201, own.text
    assert "idempotent-replayed" not in own.headers
    assert own.json()["position"] > head


def later(api: Api) -> None:
    """Another keyed request: the index reads past the first one's facts before it is lost."""
    other = api.post(DISPENSE, "trial_office", {"packs": 3, "dispensed_on": "2023-07-11"},
                     headers=key("k-later"))
    assert other.status_code == 201


def _retry_after(api: Api, loss: str) -> None:
    first = api.post(DISPENSE, "trial_office", BODY, headers=key("k-lost"))
    assert first.status_code == 201
    later(api)
    head = api.ledger.log.head()
    with api.ledger.log.application.recorder.datastore.transaction(commit=True) as cur:
        cur.execute(loss)
    again = api.post(DISPENSE, "trial_office", BODY, headers=key("k-lost"))
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (201, "true")
    assert again.json() == first.json()
    assert api.ledger.log.head() == head  # one fact recorded, not two


def test_a_dropped_index_table_is_rebuilt_before_a_retry(any_db_api: Api) -> None:
    _retry_after(any_db_api, f"DROP TABLE {TABLE}")


def test_a_lost_tracking_row_rebuilds_the_index_before_a_retry(any_db_api: Api) -> None:
    _retry_after(any_db_api, f"DELETE FROM {TRACKING}")


def test_a_dropped_index_is_rebuilt_by_the_next_process_too(tmp_path: Path,
                                                            database_url: str) -> None:
    first_process = Api(settings_for(tmp_path, database_url))
    first_process.seed()
    first = first_process.post(DISPENSE, "trial_office", BODY, headers=key("k-restart"))
    assert first.status_code == 201
    later(first_process)
    head = first_process.ledger.log.head()
    with first_process.ledger.log.application.recorder.datastore.transaction(commit=True) as cur:
        cur.execute(f"DROP TABLE {TABLE}")
    first_process.close()
    restarted = Api(settings_for(tmp_path, database_url))  # creates the table again
    try:
        again = restarted.post(DISPENSE, "trial_office", BODY, headers=key("k-restart"))
        assert again.json() == first.json()
        assert restarted.ledger.log.head() == head
    finally:
        restarted.close()


def test_the_key_is_stored_with_the_facts_it_produced(api: Api) -> None:
    api.post(DISPENSE, "trial_office", BODY, headers=key("k-4"))
    last = api.get("/v1/log?after=0&limit=1000", "auditor").json()["facts"][-1]
    assert last["actor"]["idempotency_key"] == "k-4"
    assert len(last["actor"]["fingerprint"]) == 64


def test_a_malformed_key_is_refused(api: Api) -> None:
    for bad in ("has space", "x" * 201):
        answer = api.post(DISPENSE, "trial_office", BODY, headers=key(bad))
        assert answer.status_code == 422
        assert answer.json()["type"].endswith("/invalid-idempotency-key")


def test_an_import_retried_with_its_key_is_replayed(tmp_path: Path) -> None:
    api = Api(settings_for(tmp_path))
    try:
        api.seed("")  # reference data and the example
        extra = ('{"command": "RegisterCompany", "args": {"company_id": "novartis-norge", '
                 '"name": "Novartis Norge AS", "registered_on": "2021-01-04"}}\n')
        first = api.post("/v1/imports", "migration", extra, headers=key("imp-1"))
        again = api.post("/v1/imports", "migration", extra, headers=key("imp-1"))
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert EXAMPLE.exists()
    finally:
        api.close()


class GatedLog(EventLog):
    """Holds every first append until `parties` threads have arrived: they all decided on the
    same state, so all but one find their versions taken."""

    def __init__(self, url: str, parties: int) -> None:
        super().__init__(url)
        self.gate = threading.Barrier(parties, timeout=10)
        self.waited: set[int] = set()

    def append(self, events: Sequence[NewEvent]) -> list[StoredFact]:
        me = threading.get_ident()
        if me not in self.waited:
            self.waited.add(me)
            self.gate.wait()
        return super().append(events)


def test_twin_requests_with_one_key_record_once_and_both_get_the_result(tmp_path: Path) -> None:
    seeded = Api(settings_for(tmp_path))
    seeded.seed()
    seeded.close()
    log = GatedLog(f"sqlite:///{tmp_path}/ledger.db", parties=2)
    api = Api(settings_for(tmp_path), Ledger(log))
    head = log.head()
    answers: list[Any] = []

    def post() -> None:
        answers.append(api.post(DISPENSE, "trial_office", BODY, headers=key("twin")))

    try:
        threads = [threading.Thread(target=post) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert [a.status_code for a in answers] == [201, 201]
        assert answers[0].json() == answers[1].json()
        assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
        assert log.head() == head + len(answers[0].json()["facts"])
    finally:
        api.close()
