"""How `impress-ledger serve` runs uvicorn, shared with the benchmark's constant endpoint so both
are served the same way (docs/benchmarks.md).

TCP_NODELAY on every connection: with `workers > 1` uvicorn binds the listening socket itself
(`socket.socket(family)`, protocol number 0) and asyncio sets TCP_NODELAY on accepted sockets
only when the protocol number is IPPROTO_TCP, so no worker's connection had it. A response
written in two segments (head, then body) then waited for the client's delayed ACK of the
first: every keep-alive request took 40-44 ms, even /health (measured with wrk; ADR 0021).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def no_delay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol, with TCP_NODELAY on its connection whoever bound the
    listening socket."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


def default_workers() -> int:
    """Worker processes when none is asked for: one per core, at least 2, at most 4."""
    return max(2, min(4, os.cpu_count() or 2))


def uvicorn_options(workers: int) -> dict[str, Any]:
    return {"workers": workers, "http": NoDelayHttp, "loop": "uvloop", "access_log": False,
            "log_level": "warning", "timeout_keep_alive": 30}
