"""The msgids the pages use: extracted from web/'s Python (`_`, `N_`) and templates (`_`), plus
the titles of the statements' sheets and columns (reports/), which the pages translate too.
`python -m web.messages` adds new msgids to both catalogues (keeping every translation) and
lists those bokmål still lacks; tests/unit/test_web_messages.py fails while any is missing."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from web.i18n import LANGUAGES, LOCALE_DIR

WEB = Path(__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
KEYWORDS = {"_": None, "gettext": None, "N_": None}


def page_msgids() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(WEB, METHODS, OPTIONS, KEYWORDS):
        if isinstance(message, str) and message:
            found.add(message)
    return found


def sheet_msgids(statements: Iterable[object]) -> set[str]:
    """Titles, sheet names and column titles of built statements (their to_dict/sheets)."""
    out = set()
    for s in statements:
        title = getattr(s, "title", None)
        if isinstance(title, str):
            out.add(title)
        for sheet in s.sheets():  # type: ignore[attr-defined]
            out.add(sheet.name)
            out.update(str(h) for h in sheet.headers)
    return out


def statement_kinds() -> set[str]:
    """Every statement's sheet and column titles, built on an empty ledger (the titles do not
    depend on the data)."""
    from datetime import date

    from application.ledger import Ledger
    from domain.values import Actor
    from reports import books_queries
    from reports import queries as reports
    from reports.statements_replay import ReplaySources
    from reports.statements_restate import StatementKind

    ledger = Ledger.open("sqlite:///:memory:")
    try:
        actor = Actor(subject="messages", role="auditor", organisation="impress")
        start, end = date(2024, 1, 1), date(2024, 12, 31)
        sources = ReplaySources(ledger)
        built = [reports.company_obligations(sources, actor, start, end),
                 reports.public_cost_statement(sources, actor, start, end),
                 reports.financing_gaps(sources, actor, end, start, end),
                 reports.coverage_ending(sources, actor, start, 30),
                 reports.restatement(sources, actor, StatementKind.COMPANY, start, end, 0),
                 books_queries.statement(ledger, sources, actor, StatementKind.PUBLIC_COST,
                                         "2024Q1")]
        return sheet_msgids(built)
    finally:
        ledger.close()


def all_msgids() -> set[str]:
    return page_msgids() | statement_kinds()


def catalogue(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=LANGUAGES[lang])


def update() -> list[str]:
    """Add missing msgids to every catalogue; return those bokmål has no translation for."""
    wanted = all_msgids()
    for lang in LANGUAGES:
        cat = catalogue(lang)
        for msgid in sorted(wanted):
            if msgid not in cat:
                cat.add(msgid, "")
        for message in list(cat):
            if message.id and message.id not in wanted:
                cat.delete(message.id)
        with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("wb") as f:
            write_po(f, cat, width=100, omit_header=False, sort_output=True, no_location=True)
    return sorted(m.id for m in catalogue("nb") if isinstance(m.id, str) and m.id and not m.string)


if __name__ == "__main__":
    missing = update()
    for msgid in missing:
        print(f"nb lacks: {msgid}")
    sys.exit(1 if missing else 0)
