"""Python's cycle collector paused while a bundle is made or verified.

A bundle holds tens of thousands of facts: reading them makes hundreds of thousands of dicts and
objects at once, and each batch of allocations sets off a collection that walks every object
still alive (the facts read so far among them), none of which is garbage: at M, a quarter of a
verification's time and a fifth of a build's. Reference counting still frees everything as
usual; cycles made meanwhile wait for the collection after the pause. The pause is counted,
so that overlapping builds in a server's threads restart the collector only when the last ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()
