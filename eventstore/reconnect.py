"""What the PostgreSQL recorder does when its connection is gone."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError
from psycopg_pool import PoolTimeout

from eventstore.facts import Unavailable

T = TypeVar("T")


def reconnecting(method: Callable[..., T]) -> Callable[..., T]:
    """Runs a read or an append again, once, if the connection it was given turned out to be
    dead (the server restarted, or a standby was promoted): the pool is checked first, so every
    idle connection to the old server is thrown away, not only the one that failed. When no
    connection can be had at all, there is nothing to retry: the database is unavailable."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except (InterfaceError, OperationalError) as e:
            if isinstance(e.__cause__, PoolTimeout):
                raise Unavailable(f"the database gave no connection: {e}") from e
            self.datastore.pool.check()
        try:
            return method(self, *args, **kwargs)
        except (InterfaceError, OperationalError) as e:
            raise Unavailable(f"the database does not answer: {e}") from e

    return wrapper
