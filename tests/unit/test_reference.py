"""The shipped reference data: 17 health trusts in 4 regions, and the report's drugs."""

from __future__ import annotations

from collections import Counter

import pytest

from domain.reference import (
    HealthTrust,
    ReferenceDrug,
    RegionalAuthority,
    company_id,
    health_trusts,
    reference_companies,
    reference_drugs,
    regional_authorities,
)


def test_there_are_17_health_trusts_and_4_regional_authorities() -> None:
    assert len(health_trusts()) == 17
    assert len(regional_authorities()) == 4
    assert all(isinstance(trust, HealthTrust) for trust in health_trusts())


def test_the_regional_authorities_are_the_four_named_in_the_report() -> None:
    assert regional_authorities() == (
        RegionalAuthority("helse-nord", "Helse Nord RHF"),
        RegionalAuthority("helse-midt-norge", "Helse Midt-Norge RHF"),
        RegionalAuthority("helse-vest", "Helse Vest RHF"),
        RegionalAuthority("helse-sor-ost", "Helse Sør-Øst RHF"),
    )


def test_each_health_trust_belongs_to_exactly_one_known_regional_authority() -> None:
    names = {rhf.rhf_id: rhf.name for rhf in regional_authorities()}
    for trust in health_trusts():
        assert names[trust.rhf_id] == trust.rhf_name
    assert sum(1 for trust in health_trusts() for rhf in regional_authorities()
               if trust.rhf_id == rhf.rhf_id) == 17


def test_health_trusts_per_region_match_the_report() -> None:
    assert Counter(trust.rhf_id for trust in health_trusts()) == {
        "helse-nord": 2,
        "helse-midt-norge": 3,
        "helse-vest": 4,
        "helse-sor-ost": 8,
    }


def test_ids_are_unique_slugs() -> None:
    hf_ids = [trust.hf_id for trust in health_trusts()]
    drug_ids = [drug.drug_id for drug in reference_drugs()]
    rhf_ids = [rhf.rhf_id for rhf in regional_authorities()]
    for ids in (hf_ids, drug_ids, rhf_ids):
        assert len(set(ids)) == len(ids)
        assert all(i == company_id(i) for i in ids), "ids are already in slug form"
    assert not set(hf_ids) & set(rhf_ids)


def test_health_trust_fields_come_from_the_file() -> None:
    stavanger = next(trust for trust in health_trusts() if trust.hf_id == "helse-stavanger")
    assert stavanger == HealthTrust(
        hf_id="helse-stavanger",
        name="Helse Stavanger HF",
        rhf_id="helse-vest",
        rhf_name="Helse Vest RHF",
        site="Stavanger universitetssjukehus",
    )
    assert all(trust.name.endswith(" HF") for trust in health_trusts())
    assert all(trust.site for trust in health_trusts())


def test_drugs_include_the_expansion_cohort_drug_and_drugs_without_a_named_supplier() -> None:
    drugs = {drug.drug_id: drug for drug in reference_drugs()}
    assert drugs["lynparza"] == ReferenceDrug(
        drug_id="lynparza",
        brand="Lynparza",
        generic="olaparib",
        company="AstraZeneca AS",
        note="the expansion cohort drug",
    )
    assert drugs["bortezomib"].company is None
    assert drugs["alecensa"].note is None
    assert sum(1 for drug in reference_drugs() if drug.company == "Roche Norge AS") == 8
    assert all(drug.brand and drug.generic for drug in reference_drugs())


def test_companies_are_distinct_non_empty_and_in_file_order() -> None:
    assert reference_companies() == (
        "Roche Norge AS",
        "Novartis Norge AS",
        "AstraZeneca AS",
        "Eli Lilly Norge AS",
        "Janssen-Cilag AS",
        "Incyte Biosciences Nordic AB",
        "Merck AB NUF",
        "GlaxoSmithKline AS",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Roche Norge AS", "roche-norge"),
        ("Eli Lilly Norge AS", "eli-lilly-norge"),
        ("Novartis Norge AS", "novartis-norge"),
        ("AstraZeneca AS", "astrazeneca"),
        ("Janssen-Cilag AS", "janssen-cilag"),
        ("Incyte Biosciences Nordic AB", "incyte-biosciences-nordic"),
        ("Merck AB NUF", "merck"),
        ("GlaxoSmithKline AS", "glaxosmithkline"),
        ("Equinor ASA", "equinor"),
        ("Novo Nordisk A/S", "novo-nordisk"),
        ("Orion Oyj", "orion"),
        ("Lundbeck Danmark ApS", "lundbeck-danmark"),
        ("Sør-Øst Æble AS", "sor-ost-aeble"),
        ("Ålesund Farma as", "alesund-farma"),
        ("  Roche   Norge  AS ", "roche-norge"),
        ("Johnson & Johnson AS", "johnson-johnson"),
        ("Aspen Pharma", "aspen-pharma"),  # "As" only as a whole trailing word
    ],
)
def test_company_ids_are_slugs_without_legal_form(name: str, expected: str) -> None:
    assert company_id(name) == expected


@pytest.mark.parametrize("name", ["", "AS", "  ", "AS ASA", "---"])
def test_a_name_with_nothing_left_has_no_company_id(name: str) -> None:
    with pytest.raises(ValueError):
        company_id(name)


def test_company_ids_of_the_reference_companies_are_unique() -> None:
    ids = [company_id(name) for name in reference_companies()]
    assert len(set(ids)) == len(ids)


def test_loaders_are_cached_and_immutable() -> None:
    assert health_trusts() is health_trusts()
    assert reference_drugs() is reference_drugs()
    assert isinstance(health_trusts(), tuple) and isinstance(reference_companies(), tuple)
    with pytest.raises(AttributeError):
        health_trusts()[0].name = "x"  # type: ignore[misc]
