"""How a ledger process runs Python: the cycle collector's threshold.

Statements, restatements, worklists and bundles read tens of thousands of rows at once. At
Python's default threshold (a young collection every 700 new container objects, an older one
every 10 of those) such a read sets off thousands of collections, and the older ones walk every
object still alive, the rows read so far among them, none of which is garbage: at M, a third of
a restatement's time (0.86-0.99 s, 0.60-0.64 s at 10 000; 0.55 s with no collection at all).
Reference counting frees everything as before; only objects in cycles wait a little longer for
their collection. The server (api.app.create_app), the CLI (cli.main) and the benchmark
(bench.run) call `tune_collector` once; `impress-verify` pauses the collector instead
(proofs.collector), being one short run.
"""

from __future__ import annotations

import gc

YOUNG = 10_000  # new container objects between two young collections (Python's default: 700)


def tune_collector() -> None:
    """Collect the young generation every YOUNG new objects; the older ones as Python does."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
