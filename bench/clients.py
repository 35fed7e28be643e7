"""Clients of the HTTP API that write and read as the trial office does, for the failover
scenario (bench/failover.py) and the soak run (bench/soak.py).

Each client has an agreement and an expansion cohort of its own (so clients do not conflict on
the same streams all the time), and walks its patients through their lives: enrolment, start,
three dispensations, the 16-week assessment. Every write carries an Idempotency-Key and is
sent again with the same key until it is acknowledged (201): a 503, a 409 or a lost answer is
retried, and the key makes sure it is recorded once. Reads ask who pays, the timeline and the
history of the client's own patients.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

SETUP_ROLE = "migration"
WRITE_ROLE = "trial_office"
RETRY_PAUSE = 0.2  # seconds between retries of a write that was not acknowledged

# One patient's life: (path under the patient, or None for the enrolment; body).
LIFE: list[tuple[str | None, dict[str, Any]]] = [
    (None, {"hf_id": "ous", "enrolled_on": "2024-01-02"}),
    ("treatment-start", {"started_on": "2024-01-08"}),
    ("dispensations", {"packs": 2, "dispensed_on": "2024-01-08"}),
    ("dispensations", {"packs": 2, "dispensed_on": "2024-02-05"}),
    ("dispensations", {"packs": 2, "dispensed_on": "2024-03-04"}),
    ("assessments", {"assessed_on": "2024-04-29", "outcome": "stable_disease"}),
]


def setup_lines(clients: int) -> str:
    """JSON lines for POST /v1/imports: a company and drug, then per client an agreement, a
    contribution, an expansion cohort and its group exemption."""
    commands: list[tuple[str, dict[str, Any]]] = [
        ("RegisterCompany", {"company_id": "soak-pharma", "name": "Soak Pharma AS",
                             "registered_on": "2022-01-03"}),
        ("RegisterDrug", {"drug_id": "soakinib", "brand": "Soakin", "generic": "soakinib",
                          "company_id": "soak-pharma", "registered_on": "2022-01-03"}),
        ("SetPrice", {"drug_id": "soakinib", "effective_from": "2022-01-03",
                      "price_per_pack": {"amount": "1000.00", "currency": "NOK"}}),
        ("RecordIntroductionDecision", {"drug_id": "soakinib", "decision": "introduced",
                                        "case_ref": "ID2021_999", "indication": "solid tumours",
                                        "decided_on": "2021-06-01"}),
    ]
    for n in range(1, clients + 1):
        ref = f"soak-c{n}"
        commands += [
            ("SignAgreement", {"agreement_id": ref, "company_id": "soak-pharma",
                               "signed_on": "2022-02-01", "coverage_weeks": 16,
                               "grant_per_patient": {"amount": "50000.00", "currency": "NOK"}}),
            ("ContributeDrug", {"agreement_id": ref, "drug_id": "soakinib",
                                "patient_slots": 100_000, "effective_from": "2022-02-01"}),
            ("OpenCohort", {"cohort_id": ref, "drug_id": "soakinib", "agreement_id": ref,
                            "indication": "solid tumours", "molecular_profile": f"profile {n}",
                            "opened_on": "2023-01-02", "evidence_ref": "partner trial",
                            "expansion_size": 10_000}),
            ("GrantGroupExemption", {"cohort_id": ref, "exemption_ref": f"BF-SOAK-{n}",
                                     "effective_from": "2023-01-02", "decided_on": "2023-01-02"}),
        ]
    return "".join(json.dumps({"command": name, "args": args}) + "\n" for name, args in commands)


def set_up(base: str, migration_token: str, clients: int) -> None:
    """The world the clients write into, through the import endpoint (one request)."""
    answer = httpx.post(f"{base}/v1/imports", content=setup_lines(clients), timeout=60,
                        headers={"Authorization": f"Bearer {migration_token}",
                                 "Content-Type": "application/x-ndjson"})
    answer.raise_for_status()


@dataclass
class Call:
    kind: str  # "write" | "read"
    status: int  # HTTP status; 0: no answer (transport error)
    started: float  # time.monotonic()
    seconds: float
    acknowledged: list[dict[str, Any]] = field(default_factory=list)  # the facts of a 201
    position: int = 0  # a 201's log position


Record = Callable[[Call], None]


class Client:
    """One client: `step()` sends its next request (a write is retried until acknowledged,
    or until `until()` says stop)."""

    def __init__(self, number: int, http: httpx.Client, token: str, *, read_share: float = 0.5,
                 seed: int = 0) -> None:
        self.number, self.http = number, http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.read_share = read_share
        self.rng = random.Random(seed * 1000 + number)
        self.patient, self.step_of_life = 0, 0
        self.known: list[str] = []  # patients with at least their enrolment acknowledged
        self.position = 0  # of this client's last acknowledged write: its reads wait for it

    def patient_id(self, n: int) -> str:
        return f"IMP-{self.number}{n:05d}"

    def step(self, record: Record, until: Callable[[], bool]) -> None:
        if self.known and self.rng.random() < self.read_share:
            self.read(record)
        else:
            self.write(record, until)

    def write(self, record: Record, until: Callable[[], bool]) -> bool:
        """The next step of the current patient's life, until acknowledged. False: stopped
        before it was."""
        pid = self.patient_id(self.patient + 1)
        path, body = LIFE[self.step_of_life]
        url = f"/v1/patients/{pid}/{path}" if path else "/v1/patients"
        if path is None:
            body = {**body, "patient_id": pid, "cohort_id": f"soak-c{self.number}"}
        key = f"client-{self.number}-{pid}-{self.step_of_life}"
        while not until():
            call = self._send("write", "POST", url, body, {"Idempotency-Key": key})
            record(call)
            if call.status == 201:
                self.position = max(self.position, call.position)
                self._advance(pid)
                return True
            if call.status not in (0, 409, 503):
                raise RuntimeError(f"{url} answered {call.status}: a write the ledger refused")
            time.sleep(RETRY_PAUSE)
        return False

    def read(self, record: Record) -> None:
        pid = self.rng.choice(self.known)
        roll = self.rng.random()
        if roll < 0.5:
            url = f"/v1/patients/{pid}/payer?on=2024-0{self.rng.randint(1, 6)}-15"
        elif roll < 0.8:
            url = f"/v1/patients/{pid}/timeline"
        else:
            url = f"/v1/patients/{pid}/history"
        # read your writes (README): a patient just enrolled is in the read models once they
        # reach the enrolment's position
        record(self._send("read", "GET", url, None,
                          {"Impress-Min-Position": str(self.position)}))

    def _advance(self, pid: str) -> None:
        if self.step_of_life == 0:
            self.known.append(pid)
        self.step_of_life += 1
        if self.step_of_life == len(LIFE):
            self.patient, self.step_of_life = self.patient + 1, 0

    def _send(self, kind: str, method: str, url: str, body: Any, headers: dict[str, str]) -> Call:
        started = time.monotonic()
        try:
            answer = self.http.request(method, url, json=body, headers={**self.headers, **headers})
        except httpx.HTTPError:
            return Call(kind, 0, started, time.monotonic() - started)
        receipt = answer.json() if answer.status_code == 201 else {}
        return Call(kind, answer.status_code, started, time.monotonic() - started,
                    receipt.get("facts", []), int(receipt.get("position", 0)))
