"""Nothing leaks: every GET route of the API (read from its OpenAPI document, so a new route is
walked without anyone adding it here), asked by every role's token (partners and RHF officers of
several organisations) on the demo history, names no patient and no company the token may not
see: not in lists, answers, bases, derived facts, histories, statements (JSON, CSV, XLSX),
worklists or error messages.

Who may see what is worked out here from the demo's own facts, independently of
application.access (ADR 0016): a partner sees its own company and the patients under its
agreements; an RHF officer every patient any of whose health trusts, before or after a transfer,
lies in its region, and every company; the trial office and auditors everyone; hospital
procurement, the decision forum and migration no patient.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openpyxl import load_workbook

from application.demo import FINANCING_GAP, HF_CORRECTED, LATE_ASSESSMENT, TRANSFERRED, load_demo
from audit import heads
from domain.reference import health_trusts
from proofs.keys import SigningKey
from tests.api.support import SYSTEM, Api, settings_for

PATIENT = re.compile(r"IMP-[0-9]{4,6}")
LATE_PATIENT = "IMP-0027"  # public cost at Helse Fonna in 2024Q1 (the demo story)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Token:
    role: str
    org: str

    def __str__(self) -> str:
        return f"{self.role}:{self.org}"


TOKENS = [
    Token("trial_office", "impress"), Token("procurement", "sykehusinnkjop"),
    Token("decision_forum", "nye-metoder"), Token("auditor", "riksrevisjonen"),
    Token("migration", "impress"),
    Token("rhf_finance", "helse-vest"), Token("rhf_finance", "helse-sor-ost"),
    Token("rhf_finance", "helse-nord"), Token("rhf_finance", "helse-midt-norge"),
    Token("partner", "astrazeneca"), Token("partner", "roche-norge"),
    Token("partner", "glaxosmithkline"),
]


class Demo:
    """The demo history behind the API, and what each token may see of it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        load_demo(api.ledger)
        log = api.ledger.log
        self.head = log.head()
        # A signed tree head, so that inclusion and consistency proofs answer too.
        heads.sign(api.ledger, SigningKey(Ed25519PrivateKey.generate()), SYSTEM)
        # Issued statements and a closed quarter, with a late fact carried as an adjustment.
        self.numbers = [api.issue("rhf_finance", "public-cost", "2024Q1", rhf="helse-vest"),
                        api.issue("rhf_finance", "public-cost", "2024Q1", rhf="helse-sor-ost"),
                        api.issue("procurement", "company", "2024H1", company="astrazeneca"),
                        api.issue("procurement", "company", "2024H1", company="roche-norge")]
        closed = api.post("/v1/statements/closures", "rhf_finance",
                          {"statement": "public-cost", "rhf": "helse-vest", "period": "2024Q1"})
        assert closed.status_code == 201, closed.text
        late = api.post(f"/v1/patients/{LATE_PATIENT}/dispensations", "trial_office",
                        {"packs": 1, "dispensed_on": "2024-02-20"})
        assert late.status_code == 201, late.text
        self.proved = [f.position for f in log.read(types=["StageAdvanced"])] + list(
            range(1, self.head + 1, 41))
        self.companies = self._ids("company/")
        ws = api.ledger.workspace()
        rhf_of = {t.hf_id: t.rhf_id for t in health_trusts()}
        self.patients: dict[str, tuple[str, set[str]]] = {}
        for pid in self._ids("patient/"):
            p = ws.patient(pid)
            hfs = {h.value for h in p.hf_periods}
            # The enrolment HF as first recorded too: a correction must not hide the patient
            # from the region that was first told it pays.
            hfs |= {f.data["hf_id"] for f in log.read(types=["PatientEnrolled"])
                    if f.data.get("patient_id") == pid}
            company = ws.agreement(p.agreement_id).company_id
            self.patients[pid] = (company, {rhf_of[h] for h in hfs})

    def _ids(self, prefix: str) -> list[str]:
        return [s.partition("/")[2] for s in self.api.ledger.log.streams(prefix)]

    def visible_patients(self, token: Token) -> set[str]:
        if token.role in ("trial_office", "auditor"):
            return set(self.patients)
        if token.role == "partner":
            return {p for p, (co, _) in self.patients.items() if co == token.org}
        if token.role == "rhf_finance":
            return {p for p, (_, rhfs) in self.patients.items() if token.org in rhfs}
        return set()

    def visible_companies(self, token: Token) -> set[str]:
        return {token.org} if token.role == "partner" else set(self.companies)

    def sample_patients(self) -> list[str]:
        """The special patients, and one patient of every company and of every region."""
        chosen = {TRANSFERRED, FINANCING_GAP, HF_CORRECTED, LATE_ASSESSMENT}
        for key in (0, 1):
            seen: set[str] = set()
            for pid, facts in sorted(self.patients.items()):
                owner = facts[0] if key == 0 else min(facts[1])
                if owner not in seen:
                    seen.add(owner)
                    chosen.add(pid)
        return sorted(chosen)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    api = Api(settings_for(Path(tmp_path_factory.mktemp("walk"))))
    try:
        yield Demo(api)
    finally:
        api.close()


# --- every GET route, from the OpenAPI document ---------------------------------------------


def requests_of(demo: Demo) -> Iterator[str]:
    """Every GET route with every value of its path parameters and of its `format`."""
    spec = demo.api.client.get("/openapi.json").json()
    values = path_values(demo, spec)
    for template, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None or not get.get("security", True) or _public(get):
            continue
        params = get.get("parameters", [])
        names = {p["name"] for p in params}
        required = [p for p in params if p["in"] == "query" and p.get("required")]
        formats = next((enum_of(p) for p in params if p["name"] == "format"), [None])
        # many tables: each in the zip (csv needs `table`); a period's statement and a span
        formats = [f for f in formats if not (f == "csv" and "table" in names)]
        spans: list[dict[str, str]] = [{}]
        if "period" in names:
            spans = [{"period": "2024Q1"}, {"period": "2024Q2"},
                     {"from": "2021-01-01", "to": "2025-12-31"}]
        for path in fill(template, [p for p in params if p["in"] == "path"], values):
            for query in product(*(required_values(p, demo) for p in required)):
                for fmt, extra in product(formats, spans):
                    asked = {**dict(zip([p["name"] for p in required], query)), **extra,
                             **({"format": fmt} if fmt else {})}
                    yield path + ("?" + urlencode(asked) if asked else "")


def _public(operation: dict[str, Any]) -> bool:
    # /health, /ready: declared without a 401 answer, they need no token and hold no data.
    return "401" not in operation.get("responses", {})


def enum_of(param: dict[str, Any]) -> list[Any]:
    schema = param.get("schema", {})
    for option in [schema, *schema.get("anyOf", [])]:
        if "enum" in option:
            return list(option["enum"])
    raise AssertionError(f"no enum for {param['name']}")


def required_values(param: dict[str, Any], demo: Demo) -> list[Any]:
    name = param["name"]
    known = {"on": ["2024-01-10"], "from": ["2021-01-01"], "to": ["2025-12-31"],
             "statement": ["public-cost", "company"],
             "issued_position": [demo.head // 2], "first": [demo.head // 2],
             "position": demo.proved}
    if name not in known:
        raise AssertionError(f"the walk does not know what to ask for {name!r}: add it here")
    return known[name]


def path_values(demo: Demo, spec: dict[str, Any]) -> dict[str, list[str]]:
    return {"tree_size": [demo.head], "patient_id": demo.sample_patients(),
            "number": demo.numbers,
            "company_id": demo.companies,
            "agreement_id": demo._ids("agreement/"), "cohort_id": demo._ids("cohort/"),
            "drug_id": demo._ids("drug/")}


def fill(template: str, params: list[dict[str, Any]], values: dict[str, list[str]]) -> Iterator[str]:
    if not params:
        yield template
        return
    first, rest = params[0], params[1:]
    name = first["name"]
    options = values[name] if name in values else enum_of(first)
    for value in options:
        yield from fill(template.replace("{" + name + "}", str(value)), rest, values)


# --- the check ------------------------------------------------------------------------------


def text_of(response: Any) -> str:
    if response.headers.get("content-type", "").startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            return "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())
    if response.headers.get("content-type", "").startswith(XLSX):
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        cells = [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                 for v in row if v is not None]
        props = book.properties
        return "\n".join([*book.sheetnames, *cells, str(props.title), str(props.description),
                          str(props.subject), str(props.keywords)])
    return str(response.text)


def leaks(demo: Demo, token: Token, url: str, body: str) -> list[str]:
    patients = demo.visible_patients(token)
    companies = demo.visible_companies(token)
    found = [f"patient {p}" for p in sorted(set(PATIENT.findall(body)))
             if p not in patients and p not in url]
    for company in demo.companies:
        named = re.search(rf"(?<![a-z0-9]){re.escape(company)}(?![a-z0-9])", body)
        if named and company not in companies and company not in url:
            found.append(f"company {company}")
    return found


def test_the_walk_covers_every_get_route_that_needs_a_token(demo: Demo) -> None:
    urls = list(requests_of(demo))
    spec = demo.api.client.get("/openapi.json").json()
    templates = {t for t, ops in spec["paths"].items() if "get" in ops and not _public(ops["get"])}
    walked = {t for t in templates
              if any(re.fullmatch(re.sub(r"\{[^}]+\}", "[^/?]+", t) + r"(\?.*)?", u) for u in urls)}
    assert walked == templates
    assert len(templates) >= 28


@pytest.mark.parametrize("token", TOKENS, ids=str)
def test_no_get_route_names_a_patient_or_company_the_token_may_not_see(
        demo: Demo, token: Token) -> None:
    found: dict[str, list[str]] = {}
    answered = 0
    for url in requests_of(demo):
        response = demo.api.get(url, token.role, org=token.org)
        assert response.status_code < 500, (url, response.text[:300])
        answered += response.status_code == 200
        if problems := leaks(demo, token, url, text_of(response)):
            found[url] = problems
    assert not found, "\n".join(f"{u}: {', '.join(p)}" for u, p in sorted(found.items()))
    if token.role != "migration":
        assert answered > 0  # the walk reached data, not only refusals


def test_the_oracle_sees_the_transferred_patient_from_both_regions(demo: Demo) -> None:
    regions = demo.patients[TRANSFERRED][1]
    assert regions == {"helse-vest", "helse-sor-ost"}
    assert TRANSFERRED in demo.visible_patients(Token("rhf_finance", "helse-vest"))
    assert TRANSFERRED not in demo.visible_patients(Token("rhf_finance", "helse-nord"))


def test_a_stage_decision_shows_an_rhf_its_own_patients_and_counts_the_others(demo: Demo) -> None:
    def decision(token: Token) -> dict[str, Any]:
        history = demo.api.get("/v1/cohorts/vemurafenib-braf/history", token.role,
                               org=token.org).json()
        return next(f["data"] for f in history["facts"] if f["type"] == "StageAdvanced")

    everything = decision(Token("auditor", "riksrevisjonen"))
    assert len(everything["basis"]) >= 2 and "basis_withheld" not in everything
    for region in ("helse-vest", "helse-sor-ost", "helse-nord", "helse-midt-norge"):
        token = Token("rhf_finance", region)
        seen = decision(token)
        own = [r for r in everything["basis"]
               if r.partition("@")[0].partition("/")[2] in demo.visible_patients(token)]
        assert seen["basis"] == own
        withheld = len(everything["basis"]) - len(own)
        if withheld:
            assert seen["basis_withheld"] == {
                "count": withheld, "why": f"about patients outside your region ({region})"}
        else:
            assert "basis_withheld" not in seen
        assert seen["benefit_count"] == everything["benefit_count"]  # the decision still reads


def test_an_inclusion_proof_is_given_only_of_a_fact_the_token_may_see_whole(demo: Demo) -> None:
    log = demo.api.ledger.log
    decision = next(f for f in log.read(types=["StageAdvanced"])
                    if f.stream == "cohort/vemurafenib-braf")
    url = f"/v1/proofs/inclusion?position={decision.position}"
    assert demo.api.get(url, "auditor").status_code == 200
    for region in ("helse-vest", "helse-sor-ost", "helse-nord", "helse-midt-norge"):
        token = Token("rhf_finance", region)
        named = {r.partition("@")[0].partition("/")[2] for r in decision.data["basis"]}
        expected = 200 if named <= demo.visible_patients(token) else 404
        assert demo.api.get(url, token.role, org=token.org).status_code == expected
