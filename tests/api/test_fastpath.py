"""api.fastpath answers who pays exactly as the route does: on drawn requests, the same status,
headers, body bytes and request log line with the fast path as without it; and it does answer
the plain requests itself (else the comparison would prove nothing)."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from api import fastpath
from application import access
from tests.api.support import ORGANISATIONS, Api

PATIENTS = ["IMP-0042", "IMP-0050", "IMP-0007", "IMP-9999", "imp-0042", "IMP-42", "IMP-0042 "]
DAYS = ["2023-10-02", "2023-06-01", "2024-03-01", "2019-01-01", "2024-02-30", "1999-12-31",
        "2100-01-01", "2023-1-02", "20231002", "", "２０２３-10-02"]
POSITIONS = ["0", "1", "5", "00", "40", "9007199254740992", "9007199254740993", "-1", "+1", "x",
             "", "1.0", "²", " 3"]
NAMES = ["on", "min_position", "position", "known_at", "know_at"]


def _mostly(draw: st.DrawFn, plain: list[str], odd: list[str]) -> str:
    """A plain value three times in four, else an odd one."""
    return draw(st.sampled_from(plain if draw(st.integers(0, 3)) else odd))


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    patient = _mostly(draw, PATIENTS[:3], PATIENTS[3:])
    query: list[tuple[str, str]] = []
    if draw(st.integers(0, 9)):
        query.append(("on", _mostly(draw, DAYS[:4], DAYS[4:])))
    for name in NAMES:
        if draw(st.integers(0, 4)) == 0:
            value = ("2024-01-01T00:00:00Z" if name == "known_at" else
                     _mostly(draw, DAYS[:4], DAYS[4:]) if name == "on" else
                     _mostly(draw, POSITIONS[:5], POSITIONS[5:]))
            query.append((name, value))
    headers = [("X-Request-ID", "fastpath-test")]
    role = _mostly(draw, sorted(access.READ_PATIENTS), [None, "bad-token", *ORGANISATIONS])
    if role == "bad-token":
        headers.append(("Authorization", "Bearer not.a.token"))
    elif role is not None:
        headers.append(("Authorization", f"Bearer {API.token(role)}"))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
        headers.append(("Impress-Min-Position", _mostly(draw, POSITIONS[:5], POSITIONS[5:])))
    url = f"/v1/patients/{patient}/payer" + ("?" + urlencode(query) if query else "")
    return url, headers


API: Api  # the module's Api, for the strategy (tokens)


def _ask(api: Api, url: str, headers: list[tuple[str, str]]) -> tuple[Any, ...]:
    with capture_logs() as logs:
        answer = api.client.get(url, headers=[(k.encode(), v.encode("latin-1"))
                                              for k, v in headers])
    lines = [{k: v for k, v in line.items() if k != "latency_ms"}
             for line in logs if line["event"] == "request"]
    return answer.status_code, sorted(answer.headers.items()), answer.content, lines


def test_who_pays_is_answered_the_same_with_the_fast_path_as_without(
        any_db_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    global API
    API = api = any_db_api
    # Both ways must see the same read models: caught up with the seed before the first ask.
    api.app.state.service.models.reached(api.ledger.head(), 30)
    answered: Counter[str] = Counter()
    serialize, refuse = fastpath.serialize_response, fastpath.response

    async def counted_serialize(**kw: Any) -> Any:
        answered["answer"] += 1
        return await serialize(**kw)

    def counted_refusal(*a: Any) -> Any:
        answered["refusal"] += 1
        return refuse(*a)

    monkeypatch.setattr(fastpath, "serialize_response", counted_serialize)
    monkeypatch.setattr(fastpath, "response", counted_refusal)
    plain = fastpath._plain

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(requests())
    def ask(request: tuple[str, list[tuple[str, str]]]) -> None:
        url, headers = request
        with monkeypatch.context() as m:
            m.setattr(fastpath, "_plain", lambda *a: None)  # every request to FastAPI
            theirs = _ask(api, url, headers)
        monkeypatch.setattr(fastpath, "_plain", plain)
        ours = _ask(api, url, headers)
        assert ours == theirs, url

    ask()
    # Not vacuous: the fast path answered many of them itself, and refused some itself.
    assert answered["answer"] >= 30 and answered["refusal"] >= 5, answered


def test_a_plain_who_pays_request_is_answered_by_the_fast_path(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    handed_on: list[str] = []
    original = fastpath.FastWhoPays.__call__

    async def watched(self: Any, scope: Any, receive: Any, send: Any) -> None:
        app = self.app

        async def fastapi(scope: Any, receive: Any, send: Any) -> None:
            handed_on.append(scope["path"])
            await app(scope, receive, send)

        self.app = fastapi
        try:
            await original(self, scope, receive, send)
        finally:
            self.app = app

    monkeypatch.setattr(fastpath.FastWhoPays, "__call__", watched)
    head = api.ledger.head()
    api.client.get(f"/v1/patients/IMP-0042/payer?on=2023-10-02&min_position={head}",
                   headers=api.auth("trial_office"))  # a token verified, once, by FastAPI
    handed_on.clear()
    for url, role in [(f"/v1/patients/IMP-0042/payer?on=2023-10-02&min_position={head}",
                       "trial_office"),
                      ("/v1/patients/IMP-0050/payer?on=2024-03-01", "trial_office"),
                      ("/v1/patients/IMP-9999/payer?on=2024-03-01", "trial_office")]:
        assert api.client.get(url, headers=api.auth(role)).status_code in (200, 404)
    assert handed_on == []
    # What it leaves to the route: an unknown parameter, a moment, a role it refuses.
    for url, role in [("/v1/patients/IMP-0042/payer?on=2023-10-02&know_at=x", "trial_office"),
                      ("/v1/patients/IMP-0042/payer?on=2023-10-02&known_at=2024-01-01",
                       "trial_office"),
                      ("/v1/patients/IMP-0042/payer?on=2023-10-02", "procurement")]:
        api.client.get(url, headers=api.auth(role))
    assert len(handed_on) == 3

