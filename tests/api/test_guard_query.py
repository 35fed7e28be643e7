"""The input guard refuses a query string exactly when a name or a value in it, or the whole of
it, holds a national identity number; skipping the split of a query that cannot hold one
(`domain.identity.may_hold_national_id`) never changes the answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode

from hypothesis import given
from hypothesis import strategies as st

from api.guard import check_url
from api.problems import Problem
from domain.identity import looks_like_national_id
from tests.unit.test_identity import valid_numbers

TEXT = st.one_of(st.text(max_size=12), valid_numbers(),
                 st.text(alphabet="0123456789 -.+%", max_size=14))


def _every_byte(text: str, safe: str = "", encoding: Any = None, errors: Any = None) -> str:
    """Percent-encoded byte by byte, digits too, as a client may send them."""
    return "".join(f"%{b:02X}" for b in text.encode())


@given(st.lists(st.tuples(TEXT, TEXT), max_size=4),
       st.sampled_from([quote, quote_plus, _every_byte]))
def test_a_query_is_refused_exactly_when_a_name_or_value_in_it_holds_a_number(
        pairs: list[tuple[str, str]], quoting: Any) -> None:
    query = urlencode(pairs, quote_via=quoting)
    try:
        check_url({"path": "/v1/payers", "query_string": query.encode(), "headers": []})
        refused = False
    except Problem:
        refused = True
    parts = parse_qsl(query, keep_blank_values=True)
    assert refused == (any(looks_like_national_id(t) for pair in parts for t in pair)
                       or looks_like_national_id(unquote(query)))
