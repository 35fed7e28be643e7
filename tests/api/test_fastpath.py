"""api.fastpath answers who pays exactly as the route and the app's layers do: on drawn
requests, the same status, headers (in order), body bytes and request log line with the fast
path as without it, on the API and on the web app `serve` runs (the API inside the pages'
layers: hardening headers, sessions); and it does answer the plain requests itself (else the
comparison would prove nothing), and hands on what it must."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp, Receive, Scope, Send
from structlog.testing import capture_logs

from api import fastpath
from api.app import create_app as create_api
from api import logging as request_logging
from api.settings import Settings
from application import access
from application.ledger import Ledger
from tests.api.support import ORGANISATIONS, VALID_NATIONAL_ID, Api, settings_for
from web.app import create_app as create_web_app
from web.settings import WebSettings

PATIENTS = ["IMP-0042", "IMP-0050", "IMP-0007", "IMP-9999", "imp-0042", "IMP-42", "IMP-0042 "]
DAYS = ["2023-10-02", "2023-06-01", "2024-03-01", "2019-01-01", "2024-02-30", "1999-12-31",
        "2100-01-01", "2023-1-02", "20231002", "", "２０２３-10-02"]
POSITIONS = ["0", "1", "5", "00", "40", "9007199254740992", "9007199254740993", "-1", "+1", "x",
             "", "1.0", "²", " 3", VALID_NATIONAL_ID]
NAMES = ["on", "min_position", "position", "known_at", "know_at"]
# No id (a new one: made the same both ways below), one the guard refuses, one not plain.
REQUEST_IDS = ["fastpath-test", None, VALID_NATIONAL_ID, "not plain!"]
BODIES = [None, b"", b"{}", f'{{"id": "{VALID_NATIONAL_ID}"}}'.encode()]


def create_web(settings: Settings, ledger: Ledger | None, **options: Any) -> FastAPI:
    """The app `impress-ledger serve` runs, on the same settings."""
    return create_web_app(WebSettings(**settings.model_dump()), ledger, **options)


@pytest.fixture(params=["api", "web"])
def any_app(request: pytest.FixtureRequest, tmp_path: Path, database_url: str
            ) -> Iterator[Api]:
    """The API alone and inside the web app, on SQLite and PostgreSQL, holding the example
    history."""
    a = Api(settings_for(tmp_path, database_url),
            create=create_web if request.param == "web" else create_api)
    a.seed()
    yield a
    a.close()


def _mostly(draw: st.DrawFn, plain: list[Any], odd: list[Any]) -> Any:
    """A plain value three times in four, else an odd one."""
    return draw(st.sampled_from(plain if draw(st.integers(0, 3)) else odd))


Request = tuple[str, list[tuple[str, str]], bytes | None]


@st.composite
def requests(draw: st.DrawFn) -> Request:
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
    headers = []
    request_id = _mostly(draw, REQUEST_IDS[:1], REQUEST_IDS[1:])
    if request_id is not None:
        headers.append(("X-Request-ID", request_id))
    role = _mostly(draw, sorted(access.READ_PATIENTS), [None, "bad-token", *ORGANISATIONS])
    if role == "bad-token":
        headers.append(("Authorization", "Bearer not.a.token"))
    elif role is not None:
        headers.append(("Authorization", f"Bearer {API.token(role)}"))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
        headers.append(("Impress-Min-Position", _mostly(draw, POSITIONS[:5], POSITIONS[5:])))
    url = f"/v1/patients/{patient}/payer" + ("?" + urlencode(query) if query else "")
    return url, headers, _mostly(draw, BODIES[:1], BODIES[1:])


API: Api  # the module's Api, for the strategy (tokens)


def _ask(api: Api, url: str, headers: list[tuple[str, str]], body: bytes | None = None
         ) -> tuple[Any, ...]:
    with capture_logs() as logs:
        answer = api.client.request("GET", url, content=body, headers=[
            (k.encode(), v.encode("latin-1")) for k, v in headers])
    lines = [{k: v for k, v in line.items() if k != "latency_ms"}
             for line in logs if line["event"] in ("request", "unhandled_error")]
    return answer.status_code, answer.headers.raw, answer.content, lines


def test_who_pays_is_answered_the_same_with_the_fast_path_as_without(
        any_app: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    global API
    API = api = any_app
    # Both ways must see the same read models: caught up with the seed before the first ask.
    api.app.state.service.models.reached(api.ledger.head(), 30)
    # A request without a usable id gets a new one: the same both ways, to compare them.
    monkeypatch.setattr(request_logging, "new_request_id", lambda: "newrequestid")
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
    def ask(request: Request) -> None:
        url, headers, body = request
        with monkeypatch.context() as m:
            m.setattr(fastpath, "_plain", lambda *a: None)  # every request to FastAPI
            theirs = _ask(api, url, headers, body)
        monkeypatch.setattr(fastpath, "_plain", plain)
        ours = _ask(api, url, headers, body)
        assert ours == theirs, url

    ask()
    # Not vacuous: the fast path answered many of them itself, and refused some itself.
    assert answered["answer"] >= 30 and answered["refusal"] >= 5, answered


def _watched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the fast path hands on to FastAPI, from now on."""
    handed_on: list[str] = []
    original = fastpath.FastWhoPays.__call__

    async def watched(self: Any, scope: Any, receive: Any, send: Any) -> None:
        app = self.app

        async def fastapi(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                handed_on.append(scope["path"])
            await app(scope, receive, send)

        self.app = fastapi
        try:
            await original(self, scope, receive, send)
        finally:
            self.app = app

    monkeypatch.setattr(fastpath.FastWhoPays, "__call__", watched)
    return handed_on


@pytest.mark.parametrize("create", [create_api, create_web], ids=["api", "web"])
def test_a_plain_who_pays_request_is_answered_by_the_fast_path(
        create: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(settings_for(tmp_path), create=create)
    try:
        api.seed()
        handed_on = _watched(monkeypatch)
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
        # What it leaves to the route or the guard: an unknown parameter, a moment, a role it
        # refuses, a body, what the guard refuses.
        plain = "/v1/patients/IMP-0042/payer?on=2023-10-02"
        for url, role, body in [(plain + "&know_at=x", "trial_office", None),
                                (plain + "&known_at=2024-01-01", "trial_office", None),
                                (plain, "procurement", None),
                                (plain, "trial_office", b"{}"),
                                (plain + f"&position={VALID_NATIONAL_ID}", "trial_office", None)]:
            api.client.request("GET", url, content=body, headers=api.auth(role))
        assert len(handed_on) == 5
    finally:
        api.close()


class Unknown:
    """A layer the fast path knows nothing of."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def test_the_fast_path_answers_nothing_when_the_app_has_a_layer_it_does_not_know(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def with_unknown(*a: Any, **kw: Any) -> FastAPI:
        app = create_web(*a, **kw)
        app.add_middleware(Unknown)
        return app

    api = Api(settings_for(tmp_path), create=with_unknown)
    try:
        api.seed()
        handed_on = _watched(monkeypatch)
        for _ in range(2):  # the second: a token verified before
            answer = api.client.get("/v1/patients/IMP-0042/payer?on=2023-10-02&min_position="
                                    f"{api.ledger.head()}", headers=api.auth("trial_office"))
            assert answer.status_code == 200
        assert len(handed_on) == 2
    finally:
        api.close()
