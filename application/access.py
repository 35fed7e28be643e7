"""Who may do what: roles, the commands each role may record, and what each actor may read.

Tenancy: a partner's organisation is its company id (e.g. `nordlys`), an RHF finance officer's
is the regional health authority's id (e.g. `helse-vest`). What an actor may not see answers 404,
exactly as if it did not exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from domain import commands as c
from domain import errors as err
from domain import state as st
from domain.values import Actor
from domain.workspace import Workspace

TRIAL_OFFICE = "trial_office"
PROCUREMENT = "procurement"
DECISION_FORUM = "decision_forum"
RHF_FINANCE = "rhf_finance"
PARTNER = "partner"
AUDITOR = "auditor"
MIGRATION = "migration"
SCHEDULER = "scheduler"

ROLES = (TRIAL_OFFICE, PROCUREMENT, DECISION_FORUM, RHF_FINANCE, PARTNER, AUDITOR, MIGRATION,
         SCHEDULER)
"""`migration` may only bulk-import history (any command); it reads nothing. `scheduler` may
only run the daily tick (POST /v1/tick); it reads nothing."""
TICK = frozenset({SCHEDULER})

# Reading, by kind of data.
READ_REFERENCE = frozenset(
    {TRIAL_OFFICE, PROCUREMENT, DECISION_FORUM, RHF_FINANCE, PARTNER, AUDITOR}
)
READ_PARTIES = READ_REFERENCE  # agreements and cohorts (partner: its own only)
READ_PATIENTS = frozenset({TRIAL_OFFICE, RHF_FINANCE, PARTNER, AUDITOR})
READ_LOG = frozenset({AUDITOR})
READ_STATEMENTS = frozenset({PROCUREMENT, RHF_FINANCE, PARTNER, AUDITOR})  # partner, RHF: scoped
READ_WORKLISTS = READ_STATEMENTS | {TRIAL_OFFICE}
IMPORT = frozenset({MIGRATION, TRIAL_OFFICE, PROCUREMENT, DECISION_FORUM})

COMMAND_ROLES: dict[type[c.Command], frozenset[str]] = {
    c.RegisterHealthTrust: frozenset(),
    c.RegisterCompany: frozenset({PROCUREMENT}),
    c.RegisterDrug: frozenset({PROCUREMENT}),
    c.SetPrice: frozenset({PROCUREMENT}),
    c.RecordIntroductionDecision: frozenset({DECISION_FORUM}),
    c.SignAgreement: frozenset({PROCUREMENT}),
    c.ContributeDrug: frozenset({PROCUREMENT}),
    c.AmendAgreement: frozenset({PROCUREMENT}),
    c.OpenCohort: frozenset({TRIAL_OFFICE}),
    c.AdvanceStage: frozenset({TRIAL_OFFICE}),
    c.CloseCohort: frozenset({TRIAL_OFFICE}),
    c.GrantGroupExemption: frozenset({DECISION_FORUM}),
    c.RevokeGroupExemption: frozenset({DECISION_FORUM}),
    c.DecidePermanentFinancing: frozenset({DECISION_FORUM}),
    c.EnrolPatient: frozenset({TRIAL_OFFICE}),
    c.StartTreatment: frozenset({TRIAL_OFFICE}),
    c.TransferPatient: frozenset({TRIAL_OFFICE}),
    c.RecordAssessment: frozenset({TRIAL_OFFICE}),
    c.EndTreatment: frozenset({TRIAL_OFFICE}),
    c.DispenseDrug: frozenset({TRIAL_OFFICE}),
    c.CorrectTreatmentStart: frozenset({TRIAL_OFFICE}),
    c.CorrectAssessment: frozenset({TRIAL_OFFICE}),
    c.CorrectTreatmentEnd: frozenset({TRIAL_OFFICE}),
    c.CorrectEnrolmentHf: frozenset({TRIAL_OFFICE}),
    c.CorrectDispensation: frozenset({TRIAL_OFFICE}),
    c.InvoiceGrant: frozenset({TRIAL_OFFICE}),
    c.RecordGrantPayment: frozenset({TRIAL_OFFICE, PARTNER}),
    # ADR 0022: an RHF's finance officer keeps its region's public-cost books, hospital
    # procurement the companies' (the party that owes never closes its own books)
    c.IssueStatement: frozenset({RHF_FINANCE, PROCUREMENT}),
    c.ClosePeriod: frozenset({RHF_FINANCE, PROCUREMENT}),
    c.ReopenPeriod: frozenset({RHF_FINANCE, PROCUREMENT}),
}
BOOKS = (c.IssueStatement, c.ClosePeriod, c.ReopenPeriod)


def keeps_books(actor: Actor, ws: Workspace, statement: str, party_kind: str, party: str) -> bool:
    """Whether the actor issues and closes this scope's statements: procurement the companies'
    obligations; an RHF's officer public cost of its RHF and of its health trusts."""
    if actor.role == PROCUREMENT:
        return statement == "company"
    if actor.role == RHF_FINANCE and statement == "public-cost":
        if party_kind == "rhf":
            return party == actor.organisation
        trust = ws.registry().trusts.get(party)
        return party_kind == "hf" and trust is not None and trust.rhf_id == actor.organisation
    return actor.role == MIGRATION


def may_record(actor: Actor, command: c.Command) -> bool:
    if actor.role == MIGRATION:
        return True
    return actor.role in COMMAND_ROLES.get(type(command), frozenset())


class Forbidden(err.Refused):
    """A command (an import's line) that the actor's role may not record."""

    code = "forbidden"
    kind = "forbidden"


def authorise(ws: Workspace, command: c.Command, actor: Actor) -> None:
    """`Ledger.record(..., authorise=authorise)`: the role may record the command, and a partner
    records payments of its own grants only (others' patients do not exist for it)."""
    if not may_record(actor, command):
        raise Forbidden(f"the role {actor.role} may not record {type(command).__name__}")
    if actor.role == PARTNER and isinstance(command, c.RecordGrantPayment):
        if not View(actor, ws).patient_id(command.patient_id):
            raise err.UnknownPatient(command.patient_id)
    if isinstance(command, BOOKS) and not keeps_books(
            actor, ws, command.statement, command.scope_kind, command.party):
        raise Forbidden(f"the role {actor.role} ({actor.organisation}) does not keep the "
                        f"{command.statement} statements of {command.scope_kind} {command.party}")


class View:
    """What one actor may see, judged against a workspace (the ledger as known now).

    The one tenancy rule (ADR 0016). Reads ask it whether a patient, company, agreement, cohort,
    drug or fact reference is visible (`patient_id`, `company`, `sees_ref`, ...), and every
    response that can name a patient or a company goes through `scrub` (structured values) or
    `scrub_text` (rows of a sheet) before it leaves: what the actor may not see is withheld, and
    withheld references in a list are counted (`<name>_withheld`), so an answer still says how
    many facts it rests on.
    """

    def __init__(self, actor: Actor, ws: Workspace | Callable[[], Workspace],
                 company_ids: Callable[[], Iterable[str]] = tuple,
                 visible: Callable[[Collection[str] | None], Iterable[str]] | None = None
                 ) -> None:
        """`ws`: the workspace, or a function that makes it when a judgement first needs it
        (an answer whose every reference is already judged reads no stream). `company_ids`
        lists every registered company (asked only to withhold other companies' ids from a
        partner's text). `visible`: the read models' judgement of the same rule in SQL
        (projections.queries.visible_patients: those of the given patients, or of all, the
        actor may see), asked before a patient's stream is folded to judge it."""
        self.actor = actor
        self._ws = ws
        self._company_ids = company_ids
        self._visible_ids = visible
        self._patients: dict[str, bool] = {}
        self._others: list[str] | None = None
        self._texts: dict[str, str] = {}  # text -> as scrubbed: a bundle's 40 000 facts repeat

    @property
    def ws(self) -> Workspace:
        if not isinstance(self._ws, Workspace):
            self._ws = self._ws()
        return self._ws

    def judged(self, patient_ids: Iterable[str]) -> View:
        """Record that these patients are visible, as judged already by the same rule in the
        read models' SQL (projections.payers.Tenancy.of, tested to agree with this class), so
        that the references of answers about them need no stream read."""
        for patient_id in patient_ids:
            self._patients[patient_id] = True
        return self

    @property
    def scoped(self) -> bool:
        return self.actor.role in (PARTNER, RHF_FINANCE)

    @property
    def sees_everything(self) -> bool:
        return self.actor.role in (TRIAL_OFFICE, AUDITOR)

    def company(self, company_id: str) -> bool:
        if self.actor.role == PARTNER:
            return company_id == self.actor.organisation
        return self.actor.role != MIGRATION

    def drug(self, drug: st.Drug) -> bool:
        return self.company(drug.company_id)

    def agreement(self, agreement: st.Agreement) -> bool:
        return self.company(agreement.company_id)

    def cohort(self, cohort: st.Cohort) -> bool:
        if self.actor.role == PARTNER:
            return self.agreement(self.ws.agreement(cohort.agreement_id))
        return True

    def patient(self, patient: st.Patient) -> bool:
        role = self.actor.role
        if role not in READ_PATIENTS:
            return False
        if role == PARTNER:
            return self.agreement(self.ws.agreement(patient.agreement_id))
        if role == RHF_FINANCE:
            return self.actor.organisation in self.regions(patient)
        return True

    def patient_id(self, patient_id: str) -> bool:
        known = self._patients.get(patient_id)
        if known is None:
            known = self._patients[patient_id] = self._judge(patient_id)
        return known

    def judge(self, patient_ids: Iterable[str]) -> View:
        """These patients judged at once by the read models (one query, not one a patient),
        before an answer that names them all is withheld from: those they show the actor are
        visible; any other is judged alone when it is asked about."""
        if self._visible_ids is not None and self.scoped:
            unknown = {p for p in patient_ids if p not in self._patients}
            if unknown:
                self.judged(self._visible_ids(unknown))
        return self

    def _judge(self, patient_id: str) -> bool:
        """`patient`, reading the patient's stream only where the answer depends on it and
        the read models do not show the patient to the actor (not yet projected, or hidden)."""
        role = self.actor.role
        if role not in READ_PATIENTS:
            return False
        if role not in (PARTNER, RHF_FINANCE):
            return True
        if self._visible_ids is not None and patient_id in self._visible_ids([patient_id]):
            return True
        return self.patient(self.ws.patient(patient_id))

    def regions(self, patient: st.Patient) -> set[str]:
        """Every RHF that has paid or may pay: the RHFs of all HFs that treated the patient,
        before and after a transfer (ADR 0016)."""
        trusts = self.ws.registry().trusts
        return {trusts[p.value].rhf_id for p in patient.hf_periods if p.value in trusts}

    def patient_ids(self, patient_ids: Iterable[str]) -> list[str]:
        return [pid for pid in patient_ids if self.patient_id(pid)]

    def fact(self, stream: str, data: dict[str, Any]) -> bool:
        """Whether a recorded fact is visible at all: its stream, and the patient it names
        (a cohort's admission of another region's patient is left out of its history)."""
        patient_id = data.get("patient_id")
        return self.sees_ref(stream) and (not isinstance(patient_id, str)
                                          or self.patient_id(patient_id))

    def sees_ref(self, reference: str) -> bool:
        """Whether the actor may see the fact `stream@version` (or the stream) at all."""
        kind, _, identifier = reference.partition("@")[0].partition("/")
        if kind == "patient":
            return self.patient_id(identifier)
        if kind == "company":
            return self.company(identifier)
        if self.actor.role != PARTNER and kind in ("agreement", "cohort", "drug"):
            # only a partner's sight depends on whose it is (as self.agreement, .cohort, .drug)
            return kind == "cohort" or self.company("")
        if kind == "agreement":
            return self.agreement(self.ws.agreement(identifier))
        if kind == "cohort":
            return self.cohort(self.ws.cohort(identifier))
        if kind == "drug":
            return self.drug(self.ws.drug(identifier))
        if kind == "registry":
            return self.actor.role in READ_REFERENCE
        if kind == "statements":
            return self.book(identifier)
        return self.sees_everything  # a kind of stream no rule speaks of

    def book(self, identifier: str) -> bool:
        """A scope's statements (`public-cost.rhf.helse-vest`): its RHF's officer (also of its
        health trusts' books), the company for its own, procurement and auditors all."""
        statement, _, rest = identifier.partition(".")
        party_kind, _, party = rest.partition(".")
        role = self.actor.role
        if role == RHF_FINANCE:
            trust = self.ws.registry().trusts.get(party)
            region = party if party_kind == "rhf" else trust.rhf_id if trust else None
            return statement == "public-cost" and region == self.actor.organisation
        if role == PARTNER:
            return party_kind == "company" and party == self.actor.organisation
        return role in READ_STATEMENTS

    def whole_fact(self, stream: str, data: dict[str, Any]) -> bool:
        """Whether a recorded fact may be shown as stored, with nothing withheld: its stream
        and everything it names (an inclusion proof cannot withhold part of the fact)."""
        return self.sees_everything or (self.sees_ref(stream) and self.unchanged(data))

    def unchanged(self, value: Any) -> bool:
        """`self.scrub(value) == value`, without the copy (a bundle asks it of every fact):
        scrubbing changes a value exactly where it changes one of its texts (a hidden id in a
        list is a text scrub_text withholds too; dict keys are not scrubbed). The texts of a
        dict are judged where they are met, not pushed and popped: a bundle's 45 000 facts are
        dicts of texts."""
        if self.sees_everything:
            return True
        stack, texts = [value], self._texts
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for v in item.values():
                    if type(v) is str:
                        if texts.get(v, None) != v and self.scrub_text(v) != v:
                            return False
                    elif v is not None and type(v) is not int:
                        stack.append(v)
            elif isinstance(item, str):
                if texts.get(item, None) != item and self.scrub_text(item) != item:
                    return False
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, tuple):
                return False  # scrubbed, it comes back a list
        return True

    # --- redacting what leaves -----------------------------------------------------------

    def redact(self, refs: Iterable[str]) -> Redacted:
        shown, withheld = [], 0
        for r in refs:
            if self.sees_ref(r):
                shown.append(r)
            else:
                withheld += 1
        return Redacted(tuple(shown), withheld, self.why())

    def why(self) -> str:
        """Why something is withheld, in words a finance officer reads."""
        if self.actor.role == RHF_FINANCE:
            return f"about patients outside your region ({self.actor.organisation})"
        if self.actor.role == PARTNER:
            return f"about patients or companies outside your agreements ({self.actor.organisation})"
        return f"about patients (the role {self.actor.role} sees no patient records)"

    def scrub(self, value: Any) -> Any:
        """`value` (JSON-like: dicts, lists, text) with everything the actor may not see
        withheld: a hidden reference or id in a list is left out and counted in a sibling
        `<key>_withheld` ({"count", "why"}); one standing alone, or inside text, is replaced by
        WITHHELD."""
        if self.sees_everything:
            return value
        return self._scrub(value)

    def statement(self, statement: Any) -> Any:
        """A statement (anything with `to_dict()` and `sheets()`) as this actor may see it."""
        return statement if self.sees_everything else Scrubbed(statement, self)

    def scrub_text(self, text: str) -> str:
        if self.sees_everything or not isinstance(text, str):
            return text
        done = self._texts.get(text)
        if done is None:
            done = _REF_OR_PATIENT.sub(lambda m: m[0] if self._visible(m[0]) else WITHHELD, text)
            for company_id in self._hidden_companies():
                done = re.sub(rf"(?<![a-z0-9]){re.escape(company_id)}(?![a-z0-9])", WITHHELD,
                              done)
            self._texts[text] = done
        return done

    def scrub_record(self, value: Any) -> Any:
        """A record (a dataclass such as a worklist item, or tuples of them) with the same
        withholding as `scrub`, field by field, for pages that read records, not JSON."""
        return value if self.sees_everything else self._record(value)

    def _record(self, value: Any) -> Any:
        """`scrub_record` for an actor who does not see everything, in one pass (a region's
        worklist is tens of thousands of items of dozens of fields, most of them the officer's
        own): a record is rebuilt only when something in it is withheld."""
        texts, scrub_text, is_hidden = self._texts, self.scrub_text, self._hidden
        hidden_of: dict[str, bool] = {}

        def text(value: str) -> str:
            done = texts.get(value)
            return scrub_text(value) if done is None else done

        def kept(value: Any) -> bool:
            if not isinstance(value, str):
                return True
            found = hidden_of.get(value)
            if found is None:
                found = hidden_of[value] = is_hidden(value)
            return not found

        def walk(value: Any) -> Any:
            kind = type(value)
            if kind in _PLAIN or isinstance(value, Enum):
                return value
            if isinstance(value, str):
                return text(value)
            names = _FIELDS.get(kind)
            if names is None and is_dataclass(value) and not isinstance(value, type):
                names = _FIELDS[kind] = tuple(f.name for f in fields(value) if f.init)
            if names is not None:
                changed = {}
                for name in names:
                    old = getattr(value, name)
                    new = walk(old)
                    if new is not old and new != old:
                        changed[name] = new
                return replace(value, **changed) if changed else value
            if isinstance(value, (tuple, list)):
                shown = [walk(v) for v in value if kept(v)]
                if len(shown) == len(value) and all(
                        k is v for k, v in zip(shown, value, strict=True)):
                    return value
                return tuple(shown) if isinstance(value, tuple) else shown
            if isinstance(value, dict):
                return self._scrub(value)
            return value

        return walk(value)

    def _scrub(self, value: Any) -> Any:
        """`scrub` for an actor who does not see everything. One pass over the value: a public
        cost statement at M is half a million values, and this is what its JSON waits for. A
        text is scrubbed once per view (`_texts`), and whether it is hidden once per call."""
        texts, why = self._texts, self.why
        hidden_of: dict[str, bool] = {}
        scrub_text, is_hidden = self.scrub_text, self._hidden

        def text(value: str) -> str:
            done = texts.get(value)
            return scrub_text(value) if done is None else done

        def hidden(value: str) -> bool:
            found = hidden_of.get(value)
            if found is None:
                found = hidden_of[value] = is_hidden(value)
            return found

        def kept(items: list[Any] | tuple[Any, ...]) -> tuple[list[Any], int]:
            shown: list[Any] = []
            withheld = 0
            for item in items:
                if isinstance(item, str):
                    if hidden(item):
                        withheld += 1
                    else:
                        shown.append(text(item))
                else:
                    shown.append(walk(item))
            return shown, withheld

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                return text(value)
            if isinstance(value, dict):
                out: dict[str, Any] = {}
                for key, item in value.items():
                    if isinstance(item, str):
                        out[key] = text(item)
                    elif isinstance(item, (list, tuple)):
                        out[key], withheld = kept(item)
                        if withheld:
                            out[f"{key}_withheld"] = {"count": withheld, "why": why()}
                    else:
                        out[key] = walk(item)
                return out
            if isinstance(value, (list, tuple)):
                return kept(value)[0]
            return value

        return walk(value)

    def _hidden(self, value: Any) -> bool:
        """A value that is nothing but a reference or id the actor may not see."""
        if not isinstance(value, str):
            return False
        if _REF_OR_PATIENT.fullmatch(value):
            return not self._visible(value)
        return value in self._hidden_companies()

    def _visible(self, token: str) -> bool:
        return self.patient_id(token) if token.startswith("IMP-") else self.sees_ref(token)

    def _hidden_companies(self) -> list[str]:
        if self._others is None:
            self._others = ([c for c in self._company_ids() if not self.company(c)]
                            if self.actor.role == PARTNER else [])
        return self._others


WITHHELD = "[withheld]"
_PLAIN = frozenset({int, bool, float, type(None), date, datetime, Decimal})  # nothing to withhold
_FIELDS: dict[type, tuple[str, ...]] = {}  # a record class -> its fields set by its __init__
_REF_OR_PATIENT = re.compile(r"(?:company|drug|agreement|cohort|patient)/[a-z0-9A-Z-]+(?:@[0-9]+)?"
                             r"|(?<![A-Za-z0-9/-])IMP-[0-9]{4,6}(?![0-9])")


@dataclass(frozen=True)
class Redacted:
    """References an actor may see, and how many it may not (and why)."""

    shown: tuple[str, ...]
    withheld: int
    why: str

    def to_dict(self) -> dict[str, Any] | None:
        return {"count": self.withheld, "why": self.why} if self.withheld else None


class Scrubbed:
    """A statement as one actor may see it: every id and fact reference it may not see is
    withheld, in its JSON (`to_dict`) and in every cell of its sheets."""

    def __init__(self, statement: Any, view: View) -> None:
        self._statement, self._view = statement, view
        self._scrubbed: dict[str, Any] = {}
        self._judged = False

    def __getattr__(self, name: str) -> Any:  # title, period, items, ...: scrubbed records
        # scrubbed once (statements are immutable): a worklist's items are read several times
        if name not in self._scrubbed:
            value = getattr(self._statement, name)
            if isinstance(value, (tuple, list)):  # items about patients: judged in one query
                self._view.judge(_patients_in(value))
            self._scrubbed[name] = self._view.scrub_record(value)
        return self._scrubbed[name]

    def _judge(self) -> None:
        """The patients the statement's items and rows name, judged in one query (an RHF's
        worklist names tens of thousands), before all of it is withheld from."""
        if not self._judged:
            self._judged = True
            statement = self._statement
            if is_dataclass(statement):
                self._view.judge(p for f in fields(statement)
                                 if isinstance(v := getattr(statement, f.name), (tuple, list))
                                 for p in _patients_in(v))

    def to_dict(self) -> Any:
        self._judge()
        return self._view.scrub(self._statement.to_dict())

    def sheets(self) -> list[Any]:
        self._judge()
        text = self._view.scrub_text
        return [replace(s, rows=tuple(tuple(text(c) if isinstance(c, str) else c for c in row)
                                      for row in s.rows)) for s in self._statement.sheets()]


def _patients_in(items: Iterable[Any]) -> Iterator[str]:
    """The patients items name: their `patient_id`, or their `patients` (a row of several)."""
    for item in items:
        patient_id = getattr(item, "patient_id", None)
        if isinstance(patient_id, str):
            yield patient_id
        patients = getattr(item, "patients", None)
        if isinstance(patients, (tuple, list, frozenset)):
            yield from (p for p in patients if isinstance(p, str))
