"""What the ledger's cache holds per patient enrolled in a cohort and its agreement (issue 15).

    python -m bench.enrolments --count 50000

A cohort's and an agreement's streams are few but grow by one fact per enrolment, and the
ledger's cache holds them all (the bound of IMPRESS_CACHE_STREAMS is on patients' streams).
This folds `--count` enrolments into one cohort and its agreement as the cache does when it
reads them from the log (each fact decoded from its JSON, so no two facts share a string or a
date), keeps them as the cache keeps them (the state and a state every CHECKPOINT versions),
and reports with tracemalloc the bytes held per enrolment and the code that allocated them.
Live objects only: the allocator's own overhead on them is not counted.
"""

from __future__ import annotations

import argparse
import gc
import json
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta

from application.cache import StateCache
from domain import codec
from domain import events as ev

START = date(2024, 1, 2)
COHORT, AGREEMENT = "cohort/c1", "agreement/a1"


def _stored(event: ev.Event) -> ev.Event:
    """The fact as read back from the log: its own strings and dates."""
    data = json.loads(json.dumps(codec.encode(event)))
    return codec.decode(type(event).__name__, type(event).schema, data)


def _facts(events: Iterator[ev.Event]) -> Iterator[tuple[int, ev.Event]]:
    return ((n, _stored(e)) for n, e in enumerate(events, start=1))


def _cohort(count: int) -> Iterator[ev.Event]:
    yield ev.CohortOpened(cohort_id="c1", drug_id="d1", agreement_id="a1", indication="x",
                          molecular_profile="y", opened_on=START, stage=3,
                          evidence_ref="partner", expansion_size=count + 1)
    for n in range(count):
        yield ev.PatientAdmitted(cohort_id="c1", patient_id=f"IMP-{n:06d}", stage=3,
                                 enrolled_on=START + timedelta(days=n % 1000))


def _agreement(count: int) -> Iterator[ev.Event]:
    for n in range(count):
        yield ev.PatientSlotUsed(agreement_id="a1", drug_id="d1", patient_id=f"IMP-{n:06d}",
                                 cohort_id="c1", enrolled_on=START + timedelta(days=n % 1000))


def held_per_enrolment(count: int, top: int = 0) -> tuple[float, list[str]]:
    """Bytes the cache holds per enrolment for a cohort and its agreement of `count`
    enrolments, and the `top` allocating lines (bytes per enrolment each)."""
    cache = StateCache(limit=1)
    cache.reset(0)
    gc.collect()
    tracing = tracemalloc.is_tracing()  # already on (PYTHONTRACEMALLOC): leave it on
    if not tracing:
        tracemalloc.start(1)
    try:
        before = tracemalloc.take_snapshot() if top else None
        start = tracemalloc.get_traced_memory()[0]
        for stream, events in ((COHORT, _cohort(count)), (AGREEMENT, _agreement(count))):
            cache.keep(stream, _facts(events), as_of=0)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
        lines = []
        if before is not None:
            for stat in tracemalloc.take_snapshot().compare_to(before, "lineno")[:top]:
                lines.append(f"{stat.size_diff / count:8.1f} B {stat.count_diff / count:5.2f} "
                             f"blocks  {stat.traceback[0]}")
    finally:
        if not tracing:
            tracemalloc.stop()
    assert cache.state(COHORT) is not None and cache.state(AGREEMENT) is not None
    assert len(cache.state(COHORT).admissions) == count  # held to the end
    return held / count, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    per, lines = held_per_enrolment(args.count, args.top)
    print(f"{args.count} enrolments in one cohort and its agreement: {per:.1f} bytes held per "
          f"enrolment by the ledger's cache (live Python objects, tracemalloc)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
