"""Languages: Norwegian bokmål by default, English by a switch (ADR 0020).

Every text a page shows is a msgid in `web/locale/<lang>/LC_MESSAGES/messages.po`; the .po
files are the source and are compiled in memory when the app starts (no binary .mo in git to
drift from them). Numbers, money and dates are formatted by Babel for nb_NO or en_GB.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations
from zoneinfo import ZoneInfo

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"nb": "nb_NO", "en": "en_GB"}
DEFAULT = "nb"
ZONE = ZoneInfo("Europe/Oslo")
Day = date  # the name `date` is a method of Formats


def N_(msgid: str) -> str:
    """Marks a msgid in Python for extraction; the template translates it with _()."""
    return msgid


def language(value: Any) -> str:
    return value if value in LANGUAGES else DEFAULT


@cache
def translations(lang: str) -> Translations:
    """The language's catalogue, compiled from its .po file."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=LANGUAGES[lang])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@dataclass(frozen=True)
class Formats:
    """Babel's formats for one locale, as the templates call them."""

    lang: str

    @property
    def locale(self) -> str:
        return LANGUAGES[self.lang]

    def money(self, amount: Decimal | int | None, currency: str | None) -> str:
        if amount is None:
            return ""
        if not currency:
            return format_decimal(amount, format="#,##0.00", locale=self.locale)
        return format_currency(amount, currency, locale=self.locale)

    def number(self, value: int | Decimal | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.locale)

    def date(self, value: date | str | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return format_date(value, "medium", locale=self.locale)

    def month(self, value: Day) -> str:
        return format_date(value, "MMM yy", locale=self.locale)

    def moment(self, value: datetime | str | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return format_datetime(value, "yyyy-MM-dd HH:mm:ss", tzinfo=ZONE, locale=self.locale)
