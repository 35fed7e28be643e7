"""api.solver solves a route's dependencies as FastAPI's own solving would: the same values, the
same validation errors, the same refusals, on drawn requests to every GET operation."""

from __future__ import annotations

from collections.abc import Iterator
from copy import copy
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi import routing as fastapi_routing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import Response

from api import solver
from tests.api.support import ORGANISATIONS, Api, settings_for

VALUES = ["", "x", "0", "1", "-1", "500", "501", "9007199254740993", "2024-03-01", "2024-02-30",
          "2023-10-15T12:00:00Z", "2023-10-15T12:00:00", "2023-10-15T12:00:00 01:00", "true",
          "IMP-0042", "IMP-0050", "IMP-9999", "imp-0042", "helse-vest", "astrazeneca", "roche-norge",
          "2024", "2024Q3", "2024-Q3", "2023-10", "month", "quarter", "company_obligations",
          "public_cost", "grants"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    a = Api(settings_for(Path(tmp_path_factory.mktemp("solver"))))
    a.seed()
    yield a
    a.close()


class Both:
    """In place of FastAPI's solving: solve each request both ways and keep the two outcomes."""

    def __init__(self) -> None:
        self.pairs: list[tuple[Any, Any]] = []
        self.planned: set[str] = set()

    async def __call__(self, *, request: Any, dependant: Any, **kw: Any) -> Any:
        twin = Request({**request.scope, "state": copy(request.scope.get("state", {}))},
                       request.receive)
        theirs = await _outcome(solver.ORIGINAL(request=twin, dependant=dependant, **kw))
        ours = await _outcome(solver.solve(request=request, dependant=dependant, **kw))
        self.pairs.append((theirs, ours))
        if solver.plan_of(dependant) is not None and dependant.path:
            self.planned.add(dependant.path)
        if isinstance(ours[1], BaseException):
            raise ours[1]
        return ours[1]


async def _outcome(solving: Any) -> tuple[Any, Any]:
    try:
        solved = await solving
    except Exception as exc:  # noqa: BLE001 - a refusal (Problem) must be the same both ways
        return ("raised", type(exc).__name__, repr(getattr(exc, "__dict__", exc))), exc
    values = {k: "<request>" if isinstance(v, Request) else _response(v) if isinstance(
        v, Response) else v for k, v in solved.values.items()}
    return ("solved", values, repr(solved.errors)), solved


def _response(response: Response) -> tuple[str, int | None, list[tuple[bytes, bytes]]]:
    """A route's `Response` parameter (each solving makes its own, for the route to set headers
    on): the same if it starts the same."""
    return ("<response>", response.status_code, list(response.raw_headers))


def _operations(api: Api) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(path, ops["get"].get("parameters", []))
            for path, ops in sorted(api.app.openapi()["paths"].items()) if "get" in ops]


@st.composite
def requests(draw: st.DrawFn, operations: list[tuple[str, list[dict[str, Any]]]]
             ) -> tuple[str, dict[str, str], str | None]:
    path, parameters = draw(st.sampled_from(operations))
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for p in parameters:
        value = draw(st.sampled_from(VALUES))
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", quote(value or "x", safe=""))
        elif draw(st.booleans()):
            (query if p["in"] == "query" else headers)[p["name"]] = value
    if draw(st.integers(0, 9)) == 0:
        query["know_at"] = draw(st.sampled_from(VALUES))  # a typo: refused
    role = draw(st.sampled_from([None, *ORGANISATIONS]))
    return path + ("?" + urlencode(query) if query else ""), headers, role


def test_every_get_operation_is_solved_as_fastapi_solves_it(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    both = Both()
    monkeypatch.setattr(fastapi_routing, "solve_dependencies", both)
    operations = _operations(api)

    @settings(max_examples=400, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(requests(operations))
    def ask(request: tuple[str, dict[str, str], str | None]) -> None:
        url, headers, role = request
        both.pairs.clear()
        api.client.get(url, headers={**(api.auth(role) if role else {}), **headers})
        for theirs, ours in both.pairs:
            assert ours[0] == theirs[0], url

    ask()
    # A plan is made once per dependant, not per request (FastAPI keeps the route's dependant).
    planned = len(solver._PLANS)
    for _ in range(3):
        api.get("/v1/payers?on=2024-03-01", "auditor")
    assert len(solver._PLANS) == planned
    # Not vacuous: the reads users ask most are solved by a plan, not handed back to FastAPI.
    assert {"/v1/patients/{patient_id}/payer", "/v1/payers",
            "/v1/patients/{patient_id}/timeline"} <= both.planned
