"""The read models' tables (ADR 0015). Their rows are `domain.statements.rows`, bitemporal
(`known_from` .. `known_to`, see projections.tables):
- intervals: who pays, per patient and span of days (`start`..`end` inclusive, valid time);
- patients: a patient's cohort, agreement, stage, dates and treating health trusts;
- cost_lines: every dispensation, costed at the price in force on its date and attributed to
  its payer on that date (domain.costing), with its health trust, RHF, company and cohort;
- grants and grant_movements: per-patient grants committed, invoiced and paid;
- agreement_slots: the patient slots each agreement gives per drug;
- parties: companies and health trusts (with their RHF) as registered;
- work_items: the financing-gap worklist's items over each patient's whole history, with the
  packs and value at stake (domain.statements.worklist, ADR 0026).
Current (no history): patient_regions (every RHF that treated a patient: tenancy) and
due_dates (the first day a tick must reconcile a patient: domain.derive.next_due).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.statements.rows import (CostLine, DueRow, GrantRow, IntervalRow, MovementRow,
                                    PartyRow, PatientRow, RegionRow, SlotRow, WorkItemRow,
                                    minor, money)
from projections.tables import Table, TableSet

__all__ = ["COST_LINES", "DUE", "GRANTS", "INTERVALS", "LIVE", "MOVEMENTS", "PARTIES",
           "PATIENTS", "REGIONS", "SLOTS", "TABLES", "WORK_ITEMS", "CostLine", "Difference", "DueRow",
           "GrantRow", "IntervalRow", "MovementRow", "PartyRow", "PatientRow", "RegionRow",
           "SlotRow", "WorkItemRow", "minor", "money"]


@dataclass(frozen=True)
class Difference:
    """One way the live read models differ from a replay of the log (see `verify`)."""

    table: str
    patient_id: str  # the row's owner: a patient, an agreement or a party
    row: str  # which row: its key and known_from
    field: str  # a field, or "row" when the row is missing on one side
    live: Any
    replayed: Any


_DATES = ("on", "due_from", "start", "end", "enrolled_on", "started_on", "ended_on",
          "assessed_on", "price_since", "due_on", "since", "until", "first_on", "last_on",
          "first_end", "last_start")
_INTS = ("seq", "packs", "price_minor", "value_minor", "amount_minor", "slots", "stage",
         "enrolled_at")


def _kinds(**extra: str) -> dict[str, str]:
    return {**{d: "date" for d in _DATES}, **{i: "int" for i in _INTS}, **extra}


INTERVALS = Table("intervals", IntervalRow, "patient_id", ("patient_id", "start"),
                  _kinds(kind="kind", basis="json"),
                  # the third: a company's payers on a day, a page at a time in patient order
                  # (projections.payers), its days read from the index, not from every row;
                  # the last: a company's coverage in a span (its statement), judged in the
                  # index, not by reading each of the company's intervals of every kind
                  indexes=(("kind", "rhf_id", "start_on"), ("kind", "end_on"),
                           ("company_id", "patient_id", "start_on", "end_on"),
                           ("company_id", "kind", "start_on", "end_on", "known_from",
                            "known_to")),
                  not_null=("kind", "basis", "reason", "company_id", "cohort_id"),
                  renames={"start": "start_on", "end": "end_on"})
PATIENTS = Table("patients", PatientRow, "patient_id", ("patient_id",),
                 _kinds(hf_periods="periods"),
                 # the last: the patients not yet started (the trial office's overview), found
                 # among a quarter of the rows, each judged in the index, not in the table
                 indexes=(("company_id",), ("agreement_id",), ("cohort_id",), ("rhf_id",),
                          ("started_on", "ended_on", "known_from", "known_to")),
                 not_null=("cohort_id", "agreement_id", "company_id", "drug_id", "stage",
                           "hf_id", "hf_periods", "enrolled_at", "ref"))
REGIONS = Table("patient_regions", RegionRow, "patient_id", ("patient_id", "rhf_id"),
                bitemporal=False, indexes=(("rhf_id",),))
COST_LINES = Table("cost_lines", CostLine, "patient_id", ("ref",),
                   _kinds(payer_kind="kind", gap_basis="json"),
                   indexes=(("patient_id",), ("payer_kind", "rhf_id", "dispensed_on"),
                            ("payer_kind", "company_id", "dispensed_on"),
                            ("gap", "dispensed_on")),
                   not_null=("patient_id", "seq", "last_ref", "drug_id", "on", "packs",
                             "payer_kind", "company_id", "cohort_id", "gap_basis"),
                   renames={"on": "dispensed_on"})
GRANTS = Table("grants", GrantRow, "patient_id", ("patient_id",), _kinds(),
               indexes=(("company_id",), ("rhf_id",)),
               not_null=("agreement_id", "company_id", "hf_id", "rhf_id", "amount_minor",
                         "currency", "due_from", "ref", "to_settle"))
MOVEMENTS = Table("grant_movements", MovementRow, "patient_id",
                  ("patient_id", "kind", "document"), _kinds(),
                  not_null=("on", "amount_minor", "currency"), renames={"on": "moved_on"})
SLOTS = Table("agreement_slots", SlotRow, "agreement_id", ("agreement_id", "drug_id"),
              _kinds(), not_null=("company_id", "slots"))
PARTIES = Table("parties", PartyRow, "party", ("party",), _kinds())
DUE = Table("due_dates", DueRow, "patient_id", ("patient_id",), _kinds(), bitemporal=False,
            indexes=(("due_on",),), not_null=("due_on",))

WORK_ITEMS = Table("work_items", WorkItemRow, "patient_id", ("patient_id", "seen_by", "item"),
                   _kinds(basis="json", value="pairs"),
                   # when each row was known, in the index: a worklist as known at a position
                   # (a statement's "now" too) skips the superseded three quarters of the rows
                   # without reading them from the table
                   indexes=(("rhf_id", "seen_by", "since_on", "known_from", "known_to"),
                            ("company_id", "since_on", "known_from", "known_to")),
                   not_null=("gap", "cohort_id", "company_id", "since", "detail", "resolve",
                             "basis", "seq", "packs", "value", "last_start"),
                   renames={"since": "since_on", "until": "until_on", "value": "value_minor"})

TABLES = (INTERVALS, PATIENTS, REGIONS, COST_LINES, GRANTS, MOVEMENTS, SLOTS, PARTIES, DUE,
          WORK_ITEMS)
LIVE = TableSet("readmodels", "rm", TABLES)
