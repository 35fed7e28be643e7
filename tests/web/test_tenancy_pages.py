"""The pages follow the same tenancy rule as the API (application.access, ADR 0016): every page
a signed-in person can open, taken from the app's route table (so a new page is walked without
anyone adding it here), names no patient and no company that person's role and organisation may
not see, on the demo history. Who may see what comes from tests/api/test_tenancy_walk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.support import Api, settings_for
from tests.api.test_tenancy_walk import TOKENS, Demo, Token, leaks, text_of
from tests.web.conftest import Pages
from web.settings import WebSettings

PUBLIC = ("/sign-in",)  # before signing in: the same for everyone (dev mode lists organisations)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, Pages]]:
    folder = Path(tmp_path_factory.mktemp("pages"))
    api = Api(settings_for(folder))
    demo = Demo(api)
    pages = Pages(WebSettings(database_url=api.settings.database_url, data_dir=folder / "web",
                              auth_mode="dev"))
    try:
        yield demo, pages
    finally:
        pages.close()
        api.close()


def page_paths(routes: Any) -> Iterator[str]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from page_paths(inner.routes)
        elif "GET" in (getattr(route, "methods", None) or ()):
            path = route.path
            if not path.startswith(("/v1", "/static", "/docs", "/openapi", *PUBLIC)) \
                    and path not in ("/health", "/ready"):
                yield path


def urls(demo: Demo, pages: Pages) -> list[str]:
    values = {"patient_id": demo.sample_patients(), "cohort_id": demo._ids("cohort/"),
              "agreement_id": demo._ids("agreement/")}
    out = []
    for template in sorted(set(page_paths(pages.app.routes))):
        filled = [template]
        for name in re.findall(r"\{(\w+)\}", template):
            filled = [u.replace("{" + name + "}", v) for u in filled
                      for v in values.get(name, ["assessment"])]
        out += filled
    return out


def test_the_walk_reaches_the_pages(site: tuple[Demo, Pages]) -> None:
    demo, pages = site
    walked = urls(demo, pages)
    for page in ("/", "/patients", "/cohorts", "/statements", "/worklist", "/audit"):
        assert page in walked


@pytest.mark.parametrize("token", [t for t in TOKENS if t.role != "migration"], ids=str)
def test_no_page_names_a_patient_or_company_the_person_may_not_see(
        site: tuple[Demo, Pages], token: Token) -> None:
    demo, pages = site
    pages.client.cookies.clear()
    pages.sign_in(token.role, token.org)
    found = {}
    for url in urls(demo, pages):
        response = pages.get(url)
        assert response.status_code < 500, (url, response.text[:300])
        if problems := leaks(demo, token, url, text_of(response)):
            found[url] = problems
    assert not found, "\n".join(f"{u}: {', '.join(p)}" for u, p in sorted(found.items()))
