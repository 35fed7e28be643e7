"""The Merkle tree's figures (ADR 0019, issue 14): what the tree costs a bulk import, and how fast
the ledger makes an inclusion proof on a full-size log.

- Tree on vs off: the history's first steps through bulk import into fresh databases, with the
  tree and without it (eventstore.writer.TREE_ENABLED, a switch that exists only for this
  measurement), alternating on, off, on, off so a shared machine's drift falls on both; the
  best of each is compared (the least disturbed run of each).
- The tree's own work in an append, in one process: the side rows of the first facts of the
  full ledger made with and without the tree (eventstore.writer.side_rows: canonical form,
  chain, salt, leaf and node hashes), CPU microseconds per fact, alternating; against the
  bulk import's CPU per fact this is the tree's share, free of a shared machine's noise in
  wall-clock time.
- Inclusion proof: random positions of the full ledger, each proof made as GET
  /v1/proofs/inclusion makes it (audit.proofs.inclusion: the fact, its salt, the tree columns,
  the root), timed in process; each is then checked against the signed head (not timed).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from uuid import uuid4

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.ledger import Ledger
from audit import heads, proofs
from bench.generate import steps
from bench.ingest import MIGRATION, Clock, bulk, percentiles
from bench.world import START
from eventsourcing.persistence import StoredEvent

from eventstore import EventLog, NewEvent, writer
from proofs.check import check_inclusion
from proofs.keys import SigningKey

TREE_STEPS = {"tiny": 2_000, "smoke": 3_000, "S": 40_000, "M": 100_000}


@contextmanager
def tree_switched(on: bool) -> Iterator[None]:
    before = writer.TREE_ENABLED
    writer.TREE_ENABLED = on
    try:
        yield
    finally:
        writer.TREE_ENABLED = before


def tree_cost(fresh: Callable[[str], str], drop: Callable[[str], None], size: str, seed: int,
              batch: int, rounds: int = 3) -> dict[str, Any]:
    count = TREE_STEPS[size]
    runs: dict[str, list[float]] = {"on": [], "off": []}
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    facts = 0
    for _ in range(rounds):
        for label in ("on", "off"):
            url = fresh(f"bench_tree_{label}")
            try:
                with tree_switched(label == "on"), closing(Ledger.open(url)) as ledger:
                    clock = Clock(START)
                    ledger.clock = clock
                    ledger.install_reference(MIGRATION, START)
                    tally = bulk(ledger, clock, islice(steps(size, seed), count), batch=batch)
                    facts = tally.facts
                    runs[label].append(tally.seconds - tally.tick_seconds)
                    cpu[label].append(tally.cpu_seconds)
            finally:
                drop(url)
    on, off = min(runs["on"]), min(runs["off"])
    return {"steps": count, "facts": facts, "rounds": rounds,
            "seconds_on": [round(s, 2) for s in runs["on"]],
            "seconds_off": [round(s, 2) for s in runs["off"]],
            "facts_per_second_on": round(facts / on), "facts_per_second_off": round(facts / off),
            "cpu_seconds_on": [round(s, 2) for s in cpu["on"]],
            "cpu_seconds_off": [round(s, 2) for s in cpu["off"]],
            "slowdown": round(on / off - 1, 3),
            "cpu_slowdown": round(min(cpu["on"]) / min(cpu["off"]) - 1, 3)}


def writer_cpu(url: str, facts: int = 20_000, rounds: int = 3) -> dict[str, Any]:
    with EventLog(url, create_tables=False) as log:
        read = list(islice(log.read(), facts))
    new = [NewEvent(f.stream, f.version, f.type, f.schema, f.data, f.valid_on, f.actor)
           for f in read]
    stored = [StoredEvent(uuid4(), f.version, "", b"") for f in read]
    positions, now = list(range(1, len(new) + 1)), datetime.now(UTC)
    spent: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(rounds):
        for label in ("on", "off"):
            with tree_switched(label == "on"):
                started = time.process_time()
                writer.side_rows(None, {}, positions, now, new, stored)
                spent[label].append(time.process_time() - started)
    on, off = (min(spent[k]) / len(new) * 1e6 for k in ("on", "off"))
    return {"facts": len(new), "us_per_fact_with_tree": round(on, 2),
            "us_per_fact_without": round(off, 2), "tree_us_per_fact": round(on - off, 2)}


def inclusion_latency(url: str, queries: int, seed: int) -> dict[str, Any]:
    key = SigningKey(Ed25519PrivateKey.generate())
    with closing(Ledger.open(url, create_tables=False)) as ledger:
        started = time.perf_counter()
        head = heads.sign(ledger, key, MIGRATION)
        sign_ms = (time.perf_counter() - started) * 1000
        size = head.signed.head.tree_size
        recorded = heads.recorded_heads(ledger.log)
        rng = random.Random(seed)
        positions = [rng.randint(1, size) for _ in range(queries + 50)]
        made, latencies = [], []
        for n, position in enumerate(positions):
            t = time.perf_counter()
            proof = proofs.inclusion(ledger.log, position, size, recorded)
            if n >= 50:  # the first 50 warm the caches
                latencies.append(time.perf_counter() - t)
                made.append(proof)
    trusted = {key.key_id: key.public_raw}
    for proof in made:
        check_inclusion(proof, None, trusted)  # every timed proof is a valid one
    return {"tree_size": size, "sign_head_ms": round(sign_ms, 1),
            "path_hashes_max": max(len(p.path) for p in made),
            "ms": percentiles(latencies)}
