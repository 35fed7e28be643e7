"""Recording a signed tree head in the log's own history (domain.tree, ADR 0019).

The signature is made outside the core (it needs the key, which the core never sees); deciding
only keeps the heads in the order of the log: each covers more facts than the one before, so
two signings that raced cannot both record a head of the same tree.
"""

from __future__ import annotations

from typing import cast

from domain import errors as err
from domain.events import TreeHeadSigned
from domain.state import TreeHeads
from domain.tree import TREE_HEADS, SignedHead
from domain.view import Facts
from domain.workspace import Workspace


def decide_tree_head(heads: TreeHeads, signed: SignedHead, public_key: str) -> Facts:
    """The signed head as a fact of the log's own history, after the last head recorded."""
    last = heads.last_size
    if last is not None and signed.head.tree_size <= last:
        raise err.HeadNotNewer(signed.head.tree_size, last)
    return [(TREE_HEADS, TreeHeadSigned(**signed.to_fact(public_key)))]


def record_tree_head(ws: Workspace, signed: SignedHead, public_key: str) -> str:
    """Records the head in the workspace; returns the reference of its fact."""
    ((stream, fact),) = decide_tree_head(cast(TreeHeads, ws.get(TREE_HEADS)), signed, public_key)
    return ws.record(stream, fact)
