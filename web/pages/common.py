"""What several pages share: the service, reading dates and positions from a query, the
organisations a dev sign-in may pick, and a safe place to go back to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from api import deps
from api.problems import Problem
from api.served import Served
from application import access, queries
from domain import errors as err
from domain import state as st
from domain.values import Actor

OSLO = ZoneInfo("Europe/Oslo")


async def get_service(request: Request) -> Served:
    service: Served = request.app.state.service
    return service


ServiceDep = Annotated[Served, Depends(get_service)]


class BadInput(err.InvalidInput):
    """A page's own query parameter that cannot be read (code `bad-input`)."""


def day(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{what} must be a date, YYYY-MM-DD") from None


def position(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) > 2**53:
        raise BadInput("a log position is a whole number, 0 or more")
    return int(value)


def moment(value: str | None) -> datetime | None:
    """A moment from a form (datetime-local: no offset, read as Oslo time), bounded as the
    API bounds it."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput("a moment is a date and time, YYYY-MM-DDTHH:MM") from None
    try:
        return deps.moment(parsed, "the moment")
    except Problem as e:  # outside the ledger's dates
        raise BadInput(e.detail) from None


def local_path(value: str | None, default: str = "/") -> str:
    """Only a path on this site (never //host or a scheme): where to go after a form."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


SHOWN = 200
"""Rows a list or table of a page shows: a region's worklist holds thousands at national scale
(its page was 1.6 MB, seconds to render, and nobody reads it there); the page's figures count
them all, and the worklist's download holds them all."""


def trusts_of(service: Served, actor: Actor) -> list[st.HealthTrust]:
    """The health trusts a page offers as a filter: an RHF officer's region's, else all."""
    trusts = queries.health_trusts(service)
    if actor.role == access.RHF_FINANCE:
        trusts = [t for t in trusts if t.rhf_id == actor.organisation]
    return trusts
