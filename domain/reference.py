"""Reference data shipped with the ledger: health trusts, regional health
authorities and the drugs named in the report (ch. 2.1).

The CSV files live next to this module, in ``domain/reference/``, and are read
as package resources (so they work from an installed wheel too). Loaders are
cached: the data is read once per process and returned as immutable tuples.

Company IDs
-----------
The drug list names companies only by their registered name. ``company_id``
derives a stable ID (a slug) from it: lower case; æ -> ae, ø -> o, other
letters stripped of accents (å -> a); every run of other characters becomes
one hyphen; trailing legal-form words are dropped, repeatedly, compared case
insensitively: AS, ASA, AB, NUF, A/S, ApS, Oy, Oyj ("Merck AB NUF" -> "merck").
Country words such as "Norge" stay, since they tell the local company from its
parent ("Roche Norge AS" -> "roche-norge"). The IDs are stored in events, so
these rules must not change; extend the suffix list only for names that do not
exist yet.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "HealthTrust",
    "ReferenceDrug",
    "ReferenceDataError",
    "RegionalAuthority",
    "company_id",
    "health_trusts",
    "reference_companies",
    "reference_drugs",
    "regional_authorities",
]

_PACKAGE = __package__ or "domain"


@dataclass(frozen=True)
class RegionalAuthority:
    """A regional health authority (RHF), e.g. helse-vest, "Helse Vest RHF"."""

    rhf_id: str
    name: str


@dataclass(frozen=True)
class HealthTrust:
    """A health trust (HF) recruiting to IMPRESS, the RHF it belongs to, and
    the hospital where it takes part (site)."""

    hf_id: str
    name: str
    rhf_id: str
    rhf_name: str
    site: str


@dataclass(frozen=True)
class ReferenceDrug:
    """A drug named in the report. company is None where the report names no
    supplier; note is None when the file has none."""

    drug_id: str
    brand: str
    generic: str
    company: str | None
    note: str | None


class ReferenceDataError(ValueError):
    """A shipped reference file is malformed (a packaging bug, not user input)."""


def _rows(filename: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    text = resources.files(_PACKAGE).joinpath("reference", filename).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != columns:
        raise ReferenceDataError(f"{filename}: expected columns {columns}, got {reader.fieldnames}")
    rows = []
    for row in reader:
        if None in row or any(value is None for value in row.values()):
            raise ReferenceDataError(f"{filename} line {reader.line_num}: wrong number of fields")
        rows.append({key: value.strip() for key, value in row.items()})
    return rows


def _require(filename: str, row: dict[str, str], *names: str) -> None:
    for name in names:
        if not row[name]:
            raise ReferenceDataError(f"{filename}: empty {name} in {row}")


@cache
def health_trusts() -> tuple[HealthTrust, ...]:
    """The 17 health trusts, in file order (grouped by region, north to south)."""
    filename = "health-trusts.csv"
    columns = ("hf_id", "hf_name", "rhf_id", "rhf_name", "impress_site")
    trusts = []
    for row in _rows(filename, columns):
        _require(filename, row, *columns)
        trusts.append(
            HealthTrust(
                hf_id=row["hf_id"],
                name=row["hf_name"],
                rhf_id=row["rhf_id"],
                rhf_name=row["rhf_name"],
                site=row["impress_site"],
            )
        )
    if len({trust.hf_id for trust in trusts}) != len(trusts):
        raise ReferenceDataError(f"{filename}: duplicate hf_id")
    return tuple(trusts)


@cache
def regional_authorities() -> tuple[RegionalAuthority, ...]:
    """The 4 regional health authorities, in order of first appearance."""
    names: dict[str, str] = {}
    for trust in health_trusts():
        if names.setdefault(trust.rhf_id, trust.rhf_name) != trust.rhf_name:
            raise ReferenceDataError(f"health-trusts.csv: two names for {trust.rhf_id}")
    return tuple(RegionalAuthority(rhf_id=rhf_id, name=name) for rhf_id, name in names.items())


@cache
def reference_drugs() -> tuple[ReferenceDrug, ...]:
    """The drugs of the report, in file order."""
    filename = "drugs.csv"
    drugs = []
    for row in _rows(filename, ("drug_id", "brand", "generic", "company", "note")):
        _require(filename, row, "drug_id", "brand", "generic")
        drugs.append(
            ReferenceDrug(
                drug_id=row["drug_id"],
                brand=row["brand"],
                generic=row["generic"],
                company=row["company"] or None,
                note=row["note"] or None,
            )
        )
    if len({drug.drug_id for drug in drugs}) != len(drugs):
        raise ReferenceDataError(f"{filename}: duplicate drug_id")
    return tuple(drugs)


@cache
def reference_companies() -> tuple[str, ...]:
    """Distinct company names of the drug list, in file order."""
    companies = dict.fromkeys(drug.company for drug in reference_drugs() if drug.company)
    return tuple(companies)


_LEGAL_FORMS = frozenset({"as", "asa", "ab", "nuf", "a/s", "aps", "oy", "oyj"})
_TRANSLITERATE = str.maketrans({"æ": "ae", "ø": "o", "Æ": "ae", "Ø": "o", "ß": "ss"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def company_id(name: str) -> str:
    """A stable slug for a company name: "Roche Norge AS" -> "roche-norge",
    "Eli Lilly Norge AS" -> "eli-lilly-norge". See the module docstring."""
    words = name.split()
    while words and words[-1].casefold() in _LEGAL_FORMS:
        words.pop()
    text = " ".join(words).translate(_TRANSLITERATE)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if not slug:
        raise ValueError(f"cannot derive a company id from {name!r}")
    return slug
