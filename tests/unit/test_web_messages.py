"""Every text of the pages is in both catalogues; bokmål translates every one, with the same
placeholders; numbers, money and dates are Babel's for nb_NO and en_GB."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from web.i18n import LANGUAGES, Formats, translations
from web.messages import all_msgids, catalogue

PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


@pytest.fixture(scope="module")
def msgids() -> set[str]:
    return all_msgids()


def test_the_extraction_finds_the_pages_texts(msgids: set[str]) -> None:
    assert {"Sign in", "Who pays over time", "Week 16", "Financing gap", "Public cost"} <= msgids


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_page_text_is_in_the_catalogue(msgids: set[str], lang: str) -> None:
    cat = catalogue(lang)
    assert sorted(m for m in msgids if m not in cat) == []


def test_bokmal_translates_every_text_with_the_same_placeholders(msgids: set[str]) -> None:
    cat = catalogue("nb")
    for msgid in msgids:
        message = cat[msgid]
        assert message is not None and message.string, msgid
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(message.string)), msgid
        assert "%" not in PLACEHOLDER.sub("", message.string), msgid


def test_the_catalogues_compile_and_translate() -> None:
    assert translations("nb").gettext("Sign in") == "Logg inn"
    assert translations("en").gettext("Sign in") == "Sign in"


def test_money_numbers_and_dates_are_formatted_for_the_locale() -> None:
    nb, en = Formats("nb"), Formats("en")
    assert nb.money(Decimal("1234567"), "NOK") == "1\xa0234\xa0567,00\xa0kr"
    assert en.money(Decimal("1234567"), "NOK") == "NOK1,234,567.00"
    assert nb.number(1234567) == "1\xa0234\xa0567" and en.number(1234567) == "1,234,567"
    assert nb.date(date(2024, 3, 3)) == "3. mars 2024" and en.date(date(2024, 3, 3)) == "3 Mar 2024"
