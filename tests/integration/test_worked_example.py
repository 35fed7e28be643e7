"""docs/worked-example.md is produced here: one patient's life is recorded in a real ledger,
and every figure in the document is read back from it. The test fails if the committed file
differs from what the ledger says today, so the document cannot drift from the code.

To regenerate after an intended change:  IMPRESS_REGENERATE_DOCS=1 make test
(or, for this file only: IMPRESS_REGENERATE_DOCS=1 .venv/bin/python -m pytest
tests/integration/test_worked_example.py).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain import commands as c
from application.ledger import OSLO, Ledger
from domain.events import DERIVED_TYPES
from domain.financing import Interval, payer_on
from domain.money import Money, Totals
from eventstore import EventLog, StoredFact
from domain.values import Actor, Decision, EndReason, Outcome
from reports.statements import Period, Scope, known_at
from domain.statements.company import company_statement
from domain.statements.public import public_cost
from reports.statements_restate import StatementKind, restate, why

DOC = Path(__file__).resolve().parents[2] / "docs" / "worked-example.md"
REGENERATE = "IMPRESS_REGENERATE_DOCS"
PID = "IMP-0042"

LIS = Actor(subject="sykehusinnkjop:per", role="procurement", organisation="sykehusinnkjop")
FORUM = Actor(subject="nye-metoder:ingrid", role="decision_forum", organisation="beslutningsforum")
OFFICE = Actor(subject="trial-office:kari", role="trial_office", organisation="impress-trial-office")


def d(text: str) -> date:
    return date.fromisoformat(text)


def nok(amount: str) -> Money:
    return Money.of(amount, "NOK")


@dataclass(frozen=True)
class Step:
    typed_on: str  # the day someone typed the fact in (the ledger's clock reads this day)
    actor: Actor
    command: c.Command | None  # None: install the health-trust registry
    note: str


def dispensed(on: str, packs: int = 3) -> Step:
    return Step(on, OFFICE, c.DispenseDrug(patient_id=PID, packs=packs, dispensed_on=d(on)),
                f"{packs} packs dispensed")


STEPS = [
    Step("2022-01-03", LIS, None, "the 17 health trusts and their RHFs"),
    Step("2022-01-03", LIS, c.RegisterCompany(company_id="astrazeneca", name="AstraZeneca AS",
                                              registered_on=d("2022-01-03")), "company"),
    Step("2022-01-03", LIS, c.RegisterDrug(drug_id="lynparza", brand="Lynparza", generic="olaparib",
                                           company_id="astrazeneca", registered_on=d("2022-01-03")),
         "drug"),
    Step("2022-01-03", LIS, c.SetPrice(drug_id="lynparza", price_per_pack=nok("12345.00"),
                                       effective_from=d("2022-01-01")),
         "price NOK 12 345.00 a pack (fictional)"),
    Step("2022-01-03", FORUM, c.RecordIntroductionDecision(
        drug_id="lynparza", decision=Decision.INTRODUCED, case_ref="ID2019_041",
        indication="ovarian cancer", decided_on=d("2020-06-01")), "introduced in Norway"),
    Step("2022-01-05", LIS, c.SignAgreement(
        agreement_id="astrazeneca-expansion", company_id="astrazeneca", signed_on=d("2022-01-05"),
        grant_per_patient=nok("0"), coverage_weeks=16), "the company pays the first 16 weeks"),
    Step("2022-01-05", LIS, c.ContributeDrug(agreement_id="astrazeneca-expansion",
                                             drug_id="lynparza", patient_slots=150,
                                             effective_from=d("2022-01-05")), "150 patient slots"),
    Step("2022-01-10", OFFICE, c.OpenCohort(
        cohort_id="olaparib-brca", drug_id="lynparza", agreement_id="astrazeneca-expansion",
        indication="solid tumours", molecular_profile="biallelic BRCA1/2 inactivation",
        opened_on=d("2022-01-10"), evidence_ref="DRUP: first 24 patients"),
        "expansion cohort, on DRUP's evidence"),
    Step("2022-06-20", FORUM, c.GrantGroupExemption(
        cohort_id="olaparib-brca", exemption_ref="BF-2022-olaparib",
        effective_from=d("2022-06-20"), decided_on=d("2022-06-20")), "group exemption"),
    Step("2023-06-01", OFFICE, c.EnrolPatient(patient_id=PID, cohort_id="olaparib-brca",
                                              hf_id="helse-stavanger", enrolled_on=d("2023-06-01")),
         "enrolled at Helse Stavanger (Helse Vest)"),
    Step("2023-06-12", OFFICE, c.StartTreatment(patient_id=PID, started_on=d("2023-06-12")),
         "treatment started"),
    dispensed("2023-06-12"), dispensed("2023-07-10"), dispensed("2023-08-07"),
    dispensed("2023-09-04"), dispensed("2023-10-02"),
    Step("2023-10-25", LIS, c.SetPrice(drug_id="lynparza", price_per_pack=nok("11900.00"),
                                       effective_from=d("2023-11-01")),
         "new price NOK 11 900.00 from 1 November"),
    dispensed("2023-10-30"),
    Step("2023-11-08", OFFICE, c.RecordAssessment(patient_id=PID, assessed_on=d("2023-09-28"),
                                                  outcome=Outcome.STABLE_DISEASE),
         "16-week assessment of 28 September, typed in six weeks late"),
    dispensed("2023-11-27"), dispensed("2023-12-27"),
    Step("2024-01-16", OFFICE, c.TransferPatient(patient_id=PID, to_hf="st-olavs",
                                                 effective_from=d("2024-01-15")),
         "moved to St. Olavs (Helse Midt-Norge) from 15 January"),
    dispensed("2024-01-22"), dispensed("2024-02-19"),
    Step("2024-03-05", OFFICE, c.EndTreatment(patient_id=PID, ended_on=d("2024-03-04"),
                                              reason=EndReason.PROGRESSION), "treatment ended"),
]

MOMENTS = {"A": "2023-10-20", "B": "2023-11-08"}  # end of the day typed in


@dataclass
class Recorded:
    step: Step
    facts: tuple[StoredFact, ...]


def record(ledger: Ledger) -> list[Recorded]:
    out = []
    for step in STEPS:
        ledger.clock = lambda day=d(step.typed_on): day  # type: ignore[misc]
        if step.command is None:
            receipt = ledger.install_reference(step.actor, d(step.typed_on))
        else:
            receipt = ledger.execute(step.command, step.actor)
        out.append(Recorded(step, receipt.facts))
    return out


def position_by(recorded: list[Recorded], day: str) -> int:
    return max(f.position for r in recorded if r.step.typed_on <= day for f in r.facts)


# --- markdown -----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return f"{value.currency} {amount(value.amount)}"
    if isinstance(value, Totals):
        return "; ".join(cell(m) for m in value) or "0"
    return str(value).replace("|", "\\|")


def amount(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", " ")


def timeline_rows(intervals: tuple[Interval, ...]) -> list[list[Any]]:
    return [[i.start, i.end or "open", i.payer.kind.value, i.payer.party or "",
             i.payer.hf_id or "", i.payer.reason] for i in intervals]


TIMELINE = ["from", "to", "payer", "party", "treating HF", "why"]


def generate(url: str) -> str:
    ledger = Ledger(EventLog(url))
    try:
        recorded = record(ledger)
        return render(ledger, recorded)
    finally:
        ledger.close()


def render(ledger: Ledger, recorded: list[Recorded]) -> str:
    at = {name: position_by(recorded, day) for name, day in MOMENTS.items()}
    at["now"] = ledger.log.head()
    parts = [HEADER, facts_section(recorded, at), timelines_section(ledger, at),
             answer_section(ledger, at), dispensations_section(ledger, at),
             statements_section(ledger, at), restatement_section(ledger, at), FOOTER]
    return "\n\n".join(p.strip("\n") for p in parts) + "\n"


HEADER = """\
# Worked example: one patient's life in the ledger

<!-- Generated by tests/integration/test_worked_example.py from a real ledger. Do not edit by
hand: change the example there and run `IMPRESS_REGENERATE_DOCS=1 make test`. -->

Patient **IMP-0042** is treated with olaparib (Lynparza) in the IMPRESS expansion cohort for
biallelic BRCA1/2 inactivation. Three things happen that make "who paid?" hard to answer from
spreadsheets: the 16-week assessment is typed in six weeks late, the price per pack changes
while the patient is on treatment, and the patient moves from Helse Stavanger (Helse Vest) to
St. Olavs hospital (Helse Midt-Norge). Every table below was read back from the ledger by the
test that generates this page. Prices are fictional.

The rules at work (ADR 0007): in an expansion cohort the company pays for the first 16 weeks
(start + 111 days); after that, with clinical benefit at 16 weeks and a group exemption in force,
the RHF of the health trust treating the patient that day pays; with no assessment recorded the
answer is *pending*. "As known at" a moment means the log up to the last fact recorded by then."""

FOOTER = """\
## Reproduce it

On a ledger holding this history, the same answers come from the command line:

```
impress-ledger timeline IMP-0042 --position <A>
impress-ledger who-pays IMP-0042 --on 2023-10-30
impress-ledger statement public-cost --from 2023-10-01 --to 2024-03-31 --format xlsx --output q.xlsx
impress-ledger statement restatement public-cost --from 2023-10-01 --to 2023-12-31 --issued-position <A>
```"""


def facts_section(recorded: list[Recorded], at: dict[str, int]) -> str:
    rows = []
    for r in recorded:
        if r.step.command is None:
            rows.append([r.step.typed_on, r.step.actor.role, "17 × HealthTrustRegistered", "",
                         f"{r.facts[0].position}–{r.facts[-1].position}", r.step.note])
            continue
        for f in r.facts:
            derived = f.type in DERIVED_TYPES
            rows.append([r.step.typed_on, "ledger (derived)" if derived else r.step.actor.role,
                         f.type, f.valid_on or "", f.position,
                         "follows from the facts above" if derived else r.step.note])
    marks = "\n".join(f"- **Moment {k}** = end of {MOMENTS[k]}: log position {at[k]}."
                      for k in MOMENTS)
    return (f"## The facts, in the order they were recorded\n\n"
            f"The ledger records facts; it never edits them. *About* is the date a fact is about "
            f"(valid time); the position is its place in the log (recorded time, in commit "
            f"order). Facts marked *ledger (derived)* are recorded by the ledger itself.\n\n"
            f"{table(['typed in', 'by', 'fact', 'about', 'position', 'note'], rows)}\n\n"
            f"{marks}\n- **Now**: log position {at['now']}.")


def timelines_section(ledger: Ledger, at: dict[str, int]) -> str:
    out = ["## Who pays, as known at three moments"]
    titles = {"A": f"### As known at moment A (end of {MOMENTS['A']}, position {at['A']})\n\n"
                   "The company's 16 weeks are over, and no assessment has been recorded: "
                   "from 2 October the answer is *pending*.",
              "B": f"### As known at moment B (end of {MOMENTS['B']}, position {at['B']})\n\n"
                   "The late assessment (stable disease) turns the past pending weeks into "
                   "public cost, back to 2 October, for Helse Vest.",
              "now": f"### As known now (position {at['now']})\n\n"
                     "The transfer moves the public cost to Helse Midt-Norge from 15 January; "
                     "the end of treatment closes the timeline."}
    for name in ("A", "B", "now"):
        intervals = ledger.timeline(PID, position=at[name])
        out.append(titles[name] + "\n\n" + table(TIMELINE, timeline_rows(intervals)))
    return "\n\n".join(out)


def answer_section(ledger: Ledger, at: dict[str, int]) -> str:
    rows = []
    for name in ("A", "B", "now"):
        p = ledger.who_pays(PID, d("2023-10-30"), position=at[name]).payer
        rows.append([name, p.kind.value, p.party or "", p.reason, ", ".join(p.basis)])
    return ("## Who paid on 30 October 2023, and why?\n\n"
            "Each answer names the recorded facts it rests on (stream@version).\n\n"
            + table(["as known at", "payer", "party", "why", "rests on"], rows))


def dispensations_section(ledger: Ledger, at: dict[str, int]) -> str:
    then = ledger.case(PID, up_to=at["A"])
    now = ledger.case(PID, up_to=at["now"])
    drug = ledger.workspace(up_to=at["now"]).drug("lynparza")
    rows = []
    for x in now.patient.dispensations:
        known_then = any(y.ref == x.ref for y in then.patient.dispensations)
        price = drug.price_on(x.dispensed_on)
        assert price is not None
        rows.append([x.dispensed_on, x.packs,
                     payer_on(then, x.dispensed_on).kind.value if known_then else "(not yet recorded)",
                     f"{payer_on(now, x.dispensed_on).kind.value} "
                     f"{payer_on(now, x.dispensed_on).party or ''}".strip(),
                     price.value, price.value * x.packs])
    return ("## The dispensations, priced at the price in force on each dispensing date\n\n"
            "The price change of 1 November applies to every pack dispensed from that day "
            "(report 4.3: \"if the price of a drug changes, it changes for IMPRESS patients "
            "too\").\n\n"
            + table(["dispensed on", "packs", "payer at A", "payer now", "price per pack",
                     "value"], rows))


def statements_section(ledger: Ledger, at: dict[str, int]) -> str:
    known = known_at(ledger, at["now"])
    whole = Period(d("2023-06-01"), d("2024-03-31"))
    company = company_statement(known, whole, Scope.company("astrazeneca"))
    [line] = company.patients
    public = public_cost(known, Period(d("2023-10-01"), d("2024-03-31")), Scope.everything())
    rows = [[r.bucket.label, r.rhf_id, r.hf_id, r.public_days, r.packs, r.value]
            for r in public.rows]
    return ("## Statements, as known now\n\n"
            f"**AstraZeneca's obligations** (1 June 2023 to 31 March 2024): coverage "
            f"{', '.join(f'{s} to {e}' for s, e in line.coverage)}, {line.packs} packs at the "
            f"company's cost, worth {cell(line.value)}.\n\n"
            "**Public cost per quarter** (October 2023 to March 2024):\n\n"
            + table(["quarter", "RHF", "HF", "public days", "packs", "value"], rows))


def restatement_section(ledger: Ledger, at: dict[str, int]) -> str:
    q4 = Period(d("2023-10-01"), d("2023-12-31"))
    issued = public_cost(known_at(ledger, at["A"]), q4, Scope.everything())
    r = restate(ledger, StatementKind.PUBLIC_COST, q4, Scope.everything(), issued=at["A"])
    changes = [[c.section, " / ".join(c.key), c.status, f, b or "—", a or "—",
                ", ".join(str(p) for p in c.causes)]
               for c in r.changes for f, b, a in c.fields]
    # The store stamps facts with its own clock (when this test ran), so "late" is judged here
    # against the story's day of moment A, with the ledger's own rule.
    issued_on = datetime.combine(d(MOMENTS["A"]), time(23, 59), OSLO)
    stored = {f.position: f for f in ledger.log.read(after=at["A"])}
    facts = [[x.position, x.type, x.valid_on, x.actor, why(stored[x.position], issued_on)]
             for x in r.causes]
    return ("## The Q4 2023 public cost statement, restated\n\n"
            f"Issued at moment A, the Q4 2023 public cost statement had "
            f"{len(issued.rows)} rows: nobody knew yet that the public side would pay. "
            "As restated now:\n\n"
            + table(["section", "line", "status", "field", "as issued", "now", "facts"], changes)
            + "\n\nThe facts that changed it, found by replaying the log from moment A. A fact "
              "is *late* if it is about a day that had come when the statement was issued, "
              "*new* if it is about a later day:\n\n"
            + table(["position", "fact", "about", "recorded by", "why"], facts)
            + "\n\nThe 30 October dispensation and the price change, recorded while those weeks "
              "were still pending, changed nothing in the Q4 public cost by themselves; the "
              "assessment brought them in.")


# --- the test -----------------------------------------------------------------------------------


def test_the_worked_example_in_docs_is_what_the_ledger_says(tmp_path: Path) -> None:
    produced = generate(f"sqlite:///{tmp_path}/worked-example.db")
    if os.environ.get(REGENERATE):
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(produced, encoding="utf-8")
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if committed != produced:
        diff = "".join(difflib.unified_diff(committed.splitlines(True), produced.splitlines(True),
                                            "docs/worked-example.md (committed)", "produced now"))
        raise AssertionError(
            "docs/worked-example.md differs from what the ledger says now. If the change is "
            f"intended, regenerate it with `{REGENERATE}=1 make test` (or `{REGENERATE}=1 "
            ".venv/bin/python -m pytest tests/integration/test_worked_example.py`) and commit "
            f"the result.\n{diff[:4000]}")


def test_the_story_has_what_the_document_promises(tmp_path: Path) -> None:
    ledger = Ledger(EventLog(f"sqlite:///{tmp_path}/story.db"))
    try:
        recorded = record(ledger)
        a, b = position_by(recorded, MOMENTS["A"]), position_by(recorded, MOMENTS["B"])
        kinds: Callable[[int], list[str]] = lambda at: [  # noqa: E731
            i.payer.kind.value for i in ledger.timeline(PID, position=at)]
        assert kinds(a) == ["nobody", "company", "pending"]
        assert kinds(b) == ["nobody", "company", "public"]
        assert kinds(ledger.log.head()) == ["nobody", "company", "public", "public", "nobody"]
    finally:
        ledger.close()
