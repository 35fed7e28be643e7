"""Pydantic schemas of the HTTP API: here and only here (requests, responses, field types)."""

from api.schemas.requests import BODIES, IMPORT_ARGS, Body
from api.schemas.responses import *  # noqa: F403
from api.schemas.types import Day, MoneyIn, MoneyOut, Slug, StudyId

__all__ = ["BODIES", "IMPORT_ARGS", "Body", "Day", "MoneyIn", "MoneyOut", "Slug", "StudyId"]
