"""FastAPI's dependency solving, worked out once per route instead of on every request (ADR 0032).

FastAPI (0.165) solves a route's dependencies and parameters anew on each request: for every
dependency it works out its cache key, whether it is a generator, a coroutine, whether it uses
security scopes, and for every parameter whether its annotation is a sequence. On a who-pays
read that was 45 % of the request's CPU. None of it depends on the request.

`solve` stands in for `fastapi.routing.solve_dependencies`: for a dependant it has a `Plan`
for, it does what FastAPI does with what FastAPI would have worked out, in the same order
(sub-dependencies depth first, each solved once per request; then path, query and header
parameters; validation by the same fields, the same errors); anything else (a request body,
cookies, a dependency that yields or runs in a thread, security scopes, sequences or models as
parameters, dependency overrides) goes to FastAPI's own function. `tests/api/test_solver.py`
checks both give the same values and the same errors on drawn requests for every route.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi._compat import Undefined, field_annotation_is_sequence, get_missing_field_error
from fastapi import routing as fastapi_routing
from fastapi.dependencies import utils as fastapi_deps
from fastapi.dependencies.models import (
    Dependant,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from fastapi.dependencies.utils import SolvedDependency
from pydantic.fields import FieldInfo
from starlette.requests import Request
from starlette.responses import Response

ORIGINAL = fastapi_deps.solve_dependencies


@dataclass(frozen=True, slots=True)
class Param:
    """A scalar path, query or header parameter: where to look, and how FastAPI validates it."""

    name: str
    where: str  # "path", "query" or "header"
    alias: str
    field: Any  # fastapi's ModelField
    required: bool
    default: Any
    validate_default: bool


@dataclass(frozen=True, slots=True)
class Plan:
    subs: tuple[tuple[str | None, Callable[..., Any], Any, Plan], ...]  # name, call, cache key
    params: tuple[Param, ...]
    request_name: str | None


_PLANS: dict[int, tuple[Dependant, Plan | None]] = {}


def plan_of(dependant: Dependant) -> Plan | None:
    """The dependant's plan, worked out once; None if FastAPI's own solving must do it."""
    known = _PLANS.get(id(dependant))
    if known is not None and known[0] is dependant:
        return known[1]
    plan = _plan(dependant)
    _PLANS[id(dependant)] = (dependant, plan)
    return plan


def _plan(dependant: Dependant) -> Plan | None:
    if (dependant.body_params or dependant.cookie_params
            or dependant.http_connection_param_name or dependant.websocket_param_name
            or dependant.background_tasks_param_name or dependant.response_param_name
            or dependant.security_scopes_param_name):
        return None
    subs = []
    for sub in dependant.dependencies:
        call = sub.call
        if (call is None or not sub.use_cache or sub.concurrency is not None
                or sub.own_oauth_scopes or sub.parent_oauth_scopes
                or _is_gen_callable(call) or _is_async_gen_callable(call)
                or not _is_coroutine_callable(call)):
            return None
        sub_plan = plan_of(sub)
        if sub_plan is None:
            return None
        subs.append((sub.name, call, (call, sub.scope), sub_plan))
    found = [_param(f, "path") for f in dependant.path_params]
    found += [_param(f, "query") for f in dependant.query_params]
    found += [_param(f, "header") for f in dependant.header_params]
    if any(p is None for p in found):
        return None
    return Plan(tuple(subs), tuple(p for p in found if p is not None),
                dependant.request_param_name)


def _param(field: Any, where: str) -> Param | None:
    info: FieldInfo = field.field_info
    if (not isinstance(info, params.Param) or fastapi_deps._get_param_model(field) is not None
            or fastapi_deps._is_json_field(field)
            or field_annotation_is_sequence(info.annotation)):
        return None
    aliases = fastapi_deps._get_param_aliases(field)
    if len(aliases) != 1:
        return None
    return Param(field.name, where, aliases[0][1], field, info.is_required(), field.default,
                 bool(info.validate_default))


async def solve(*, request: Any, dependant: Dependant, body: Any = Undefined,
                background_tasks: Any = None, response: Response | None = None,
                dependency_overrides_provider: Any | None = None,
                dependency_cache: dict[Any, Any] | None = None, **rest: Any) -> SolvedDependency:
    """`fastapi.routing.solve_dependencies`, by the dependant's plan when it has one."""
    plan = None
    if (body is Undefined and background_tasks is None and dependency_cache is None
            and not getattr(dependency_overrides_provider, "dependency_overrides", None)
            and isinstance(request, Request)):
        plan = plan_of(dependant)
    if plan is None:
        return await ORIGINAL(request=request, dependant=dependant, body=body,
                              background_tasks=background_tasks, response=response,
                              dependency_overrides_provider=dependency_overrides_provider,
                              dependency_cache=dependency_cache, **rest)
    if response is None:
        response = Response()
        del response.headers["content-length"]
        response.status_code = None  # type: ignore[assignment]
    errors: list[Any] = []
    values = await _run(plan, request, {}, errors)
    return SolvedDependency(values=values, errors=errors, background_tasks=None,
                            response=response, dependency_cache={})


async def _run(plan: Plan, request: Request, solved: dict[Any, Any],
               errors: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, call, key, sub in plan.subs:
        sub_errors: list[Any] = []
        sub_values = await _run(sub, request, solved, sub_errors)
        if sub_errors:
            errors.extend(sub_errors)
            continue
        if key in solved:
            value = solved[key]
        else:
            value = solved[key] = await call(**sub_values)
        if name is not None:
            values[name] = value
    if plan.params:
        _params(plan.params, request, values, errors)
    if plan.request_name:
        values[plan.request_name] = request
    return values


def _params(found: tuple[Param, ...], request: Request, values: dict[str, Any],
            errors: list[Any]) -> None:
    sources: dict[str, Mapping[str, Any]] = {}
    checked: dict[str, Any] = {}
    for p in found:
        source = sources.get(p.where)
        if source is None:
            source = sources[p.where] = _source(request, p.where)
        value = source.get(p.alias)
        if value is None:
            if p.required:
                errors.append(get_missing_field_error(loc=(p.where, p.alias)))
                continue
            if not p.validate_default:
                checked[p.name] = deepcopy(p.default)
                continue
            value = deepcopy(p.default)
        v, field_errors = p.field.validate(value, checked, loc=(p.where, p.alias))
        if field_errors:
            errors.extend(field_errors)
        else:
            checked[p.name] = v
    values.update(checked)


def _source(request: Request, where: str) -> Mapping[str, Any]:
    if where == "path":
        return request.path_params
    if where == "query":
        return request.query_params
    return request.headers


def install() -> None:
    """Make FastAPI's request handlers solve through `solve` (idempotent)."""
    fastapi_routing.solve_dependencies = solve  # type: ignore[attr-defined]
