"""The payer timeline picture: a patient's payers as horizontal bands over a date axis, with the
treating health trust (transfers) and the cohort's group exemptions on rows beneath, week 16
marked. Geometry only: the template (partials/picture.html) draws it as SVG, and every band is
labelled in text and drawn with its own pattern, so nothing is told by colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain.financing import Interval, PayerKind
from domain.state import Cohort, Patient
from domain.values import coverage_end
from web.i18n import N_

WIDTH, LEFT, RIGHT = 960, 150, 16
ROW_HEIGHT, ROW_GAP, TOP = 40, 14, 28
KIND_LABELS = {  # msgids
    PayerKind.COMPANY: N_("Company"),
    PayerKind.PUBLIC: N_("Public"),
    PayerKind.TREATING_HF: N_("Financing gap"),
    PayerKind.PENDING: N_("Pending"),
    PayerKind.NOBODY: N_("Nobody"),
}
CHAR_WIDTH = 7.2  # an average glyph at the picture's font size, to decide if a label fits


@dataclass(frozen=True)
class Band:
    row: int
    x: float
    width: float
    kind: str  # a css class: company, public, treating_hf, pending, nobody, hf, exemption
    label: str  # a msgid
    party: str | None
    start: date
    end: date | None
    number: int  # the band's number in the table under the picture

    @property
    def fits(self) -> bool:
        text = len(self.label) + (len(self.party) + 3 if self.party else 0)
        return self.width > text * CHAR_WIDTH + 8


@dataclass(frozen=True)
class Mark:
    x: float
    label: str  # a msgid
    on: date


@dataclass(frozen=True)
class Picture:
    first: date
    last: date
    bands: tuple[Band, ...]
    marks: tuple[Mark, ...]
    ticks: tuple[tuple[float, date], ...]
    rows: tuple[str, ...]  # msgids of the row labels

    @property
    def height(self) -> int:
        return TOP + len(self.rows) * (ROW_HEIGHT + ROW_GAP) + 8

    @staticmethod
    def row_y(row: int) -> int:
        return TOP + row * (ROW_HEIGHT + ROW_GAP)


def picture(intervals: tuple[Interval, ...], patient: Patient, cohort: Cohort,
            today: date) -> Picture:
    first = intervals[0].start if intervals else (patient.enrolled_on or today)
    dates = [first, *(i.start for i in intervals), *(p.since for p in patient.hf_periods)]
    week_16 = coverage_end(patient.started.since, 16) if patient.started else None
    if week_16:
        dates.append(week_16)
    if patient.ended:
        dates.append(patient.ended.ended_on)
    content_end = max(dates)
    last = content_end + timedelta(days=max(45, (content_end - first).days // 8))
    scale = _Scale(first, last)
    bands = _payer_bands(intervals, scale) + _hf_bands(patient, scale) + _exemption_bands(
        cohort, scale)
    marks = [Mark(scale.x(week_16), N_("Week 16"), week_16)] if week_16 and week_16 <= last else []
    marks += [Mark(scale.x(p.since), N_("Transfer"), p.since) for p in patient.hf_periods[1:]]
    return Picture(first, last, tuple(bands), tuple(marks), scale.ticks(),
                   (N_("Who pays"), N_("Treating HF"), N_("Group exemption")))


class _Scale:
    def __init__(self, first: date, last: date) -> None:
        self.first, self.last = first, last
        self.days = max(1, (last - first).days + 1)

    def x(self, on: date) -> float:
        span = WIDTH - LEFT - RIGHT
        days = (min(max(on, self.first), self.last + timedelta(days=1)) - self.first).days
        return round(LEFT + span * days / self.days, 1)

    def band(self, start: date, end: date | None) -> tuple[float, float]:
        x0 = self.x(start)
        x1 = self.x((end or self.last) + timedelta(days=1))
        return x0, max(1.5, x1 - x0)

    def ticks(self) -> tuple[tuple[float, date], ...]:
        step = 1 if self.days <= 400 else 3 if self.days <= 1200 else 6
        on = date(self.first.year, self.first.month, 1)
        out = []
        while on <= self.last:
            if on >= self.first and (on.month - 1) % step == 0:
                out.append((self.x(on), on))
            on = date(on.year + on.month // 12, on.month % 12 + 1, 1)
        return tuple(out)


def _payer_bands(intervals: tuple[Interval, ...], scale: _Scale) -> list[Band]:
    """One band per payer; intervals that differ only in the facts they rest on are joined."""
    merged: list[Interval] = []
    for i in intervals:
        if merged and merged[-1].payer.same_payer(i.payer):
            merged[-1] = Interval(merged[-1].start, i.end, merged[-1].payer)
        else:
            merged.append(i)
    out = []
    for n, i in enumerate(merged, start=1):
        x, w = scale.band(i.start, i.end)
        out.append(Band(0, x, w, i.payer.kind.value, KIND_LABELS[i.payer.kind], i.payer.party,
                        i.start, i.end, n))
    return out


def _hf_bands(patient: Patient, scale: _Scale) -> list[Band]:
    periods = patient.hf_periods
    out = []
    for n, p in enumerate(periods):
        start = max(p.since, scale.first)
        end = periods[n + 1].since - timedelta(days=1) if n + 1 < len(periods) else None
        x, w = scale.band(start, end)
        out.append(Band(1, x, w, "hf", N_("HF"), p.value, start, end, n + 1))
    return out


def _exemption_bands(cohort: Cohort, scale: _Scale) -> list[Band]:
    out = []
    for n, e in enumerate(cohort.exemptions, start=1):
        end = e.revoked_from - timedelta(days=1) if e.revoked_from else None
        if end is not None and end < scale.first or e.effective_from > scale.last:
            continue
        x, w = scale.band(max(e.effective_from, scale.first), end)
        out.append(Band(2, x, w, "exemption", N_("In force"), e.exemption_ref, e.effective_from,
                        end, n))
    return out
