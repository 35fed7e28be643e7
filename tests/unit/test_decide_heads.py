"""Signed tree heads in the log's own history: given the heads recorded, when a new one is
recorded, then its fact, or a refusal that records nothing (domain/decide_heads.py)."""

from __future__ import annotations

import pytest

from domain import errors as err
from domain import events as ev
from domain.decide_heads import record_tree_head
from domain.tree import TREE_HEADS, SignedHead, TreeHead
from tests.support import Book

KEY = "ab" * 32


def head(size: int) -> SignedHead:
    return SignedHead(TreeHead("impress-ledger", size, "cd" * 32, "2026-12-01T06:00:00.000000Z",
                               "0123456789abcdef"), "ef" * 64)


def record(book: Book, size: int) -> list[ev.Event]:
    ws = book.workspace()
    record_tree_head(ws, head(size), KEY)
    return book._commit(ws)  # noqa: SLF001 - the Book's way of storing a decided workspace


def test_a_signed_head_is_recorded_with_its_public_key_in_the_heads_stream() -> None:
    book = Book()
    facts = record(book, 979)
    assert facts == [ev.TreeHeadSigned(log="impress-ledger", tree_size=979, root_hash="cd" * 32,
                                       timestamp="2026-12-01T06:00:00.000000Z",
                                       key_id="0123456789abcdef", public_key=KEY,
                                       signature="ef" * 64)]
    assert book.types(TREE_HEADS) == ["TreeHeadSigned"]
    assert SignedHead.from_fact(facts[0].__dict__) == head(979)


@pytest.mark.parametrize("size", [979, 500])
def test_a_head_not_larger_than_the_last_signed_is_refused(size: int) -> None:
    """Two signings that raced read the same log: the second would sign the same tree."""
    book = Book()
    record(book, 979)
    with pytest.raises(err.HeadNotNewer, match="979"):
        record(book, size)
    assert book.types(TREE_HEADS) == ["TreeHeadSigned"]


def test_heads_of_growing_logs_follow_each_other() -> None:
    book = Book()
    record(book, 979)
    record(book, 981)
    assert book.types(TREE_HEADS) == ["TreeHeadSigned", "TreeHeadSigned"]
