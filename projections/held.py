"""What a projector holds of its tables: the open rows of each owner it has met (as hashes), so
that a recomputed owner's rows can be compared with the tables' without reading them back.

A projector that replays from position 0 starts with nothing (`complete`: an owner never met
has no rows); one that starts later loads an owner's open rows from its tables the first time
it meets the owner. `sync` turns the difference between what is held and what is wanted into a
batch's changes: rows no longer wanted are closed at the position, new ones inserted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from projections import tables as tb
from projections.bulk import Batch
from projections.store import Database


class Held:
    """Per table and owner, the open rows by key, each as the hash of what it says: enough to
    tell whether a recomputed row differs (a key has one open row, closed by its key), at a
    fraction of the rows' memory. Two different contents with equal 64-bit hashes would hide
    a change; `verify`, which compares every row with a replay, would show it."""

    def __init__(self, db: Database, ts: tb.TableSet, *, complete: bool) -> None:
        self.db, self.ts, self.complete = db, ts, complete
        self.codecs = tb.codecs(db, ts)
        self._rows: dict[str, dict[Any, dict[tuple[Any, ...], int]]] = {
            t.base: {} for t in ts.tables}
        self._keys = {t.base: t.key_of() for t in ts.tables}
        self._contents = {t.base: t.content() for t in ts.tables}
        self.patient_tables = [t for t in ts.tables if t.owner == "patient_id"]
        self._patients_let_go = False  # since then, a patient not held is loaded

    def of(self, table: tb.Table, owner: Any) -> dict[tuple[Any, ...], int]:
        """The owner's open rows (all its rows, for a current table): key -> content hash."""
        by_owner = self._rows[table.base]
        found = by_owner.get(owner)
        if found is None:
            empty = self.complete and not (self._patients_let_go and table.owner == "patient_id")
            found = by_owner[owner] = {} if empty else self._load(table, owner)
        return found

    def new_patient(self, patient_id: str) -> None:
        """A patient met at its first fact: it has no rows yet (none to load)."""
        for table in self.patient_tables:
            self._rows[table.base].setdefault(patient_id, {})

    def let_go(self, patient_ids: Iterable[str]) -> None:
        """Forget what is held of these patients' rows: loaded from the tables when met again
        (the batch that wrote them is committed: `Projector.catch_up` lets go between
        batches)."""
        for patient_id in patient_ids:
            self._patients_let_go = True
            for table in self.patient_tables:
                self._rows[table.base].pop(patient_id, None)

    def _load(self, table: tb.Table, owner: Any) -> dict[tuple[Any, ...], int]:
        codec, key = self.codecs[table.base], self._keys[table.base]
        content = self._contents[table.base]
        where, params = tb.known_at(table, None)
        sql = f"{tb.select(self.ts, table)} WHERE {table.column(table.owner)} = ? AND {where}"
        with self.db.reading() as cur:
            rows = [codec.from_db(x) for x in cur.rows(sql, [owner, *params])]
        return {key(row): hash(content(row)) for row in rows}

    def sync(self, table: tb.Table, owner: Any, wanted: Iterable[Any], at: int, batch: Batch,
             only: Callable[[tuple[Any, ...]], bool] | None = None) -> bool:
        """Make the owner's rows the wanted ones (those whose key `only` accepts, if given),
        as of position `at`; True if anything changed."""
        held = self.of(table, owner)
        if not held and not wanted:  # most owners of most tables, most of the time
            return False
        key, content = self._keys[table.base], self._contents[table.base]
        if not table.bitemporal:
            new = {key(row): row for row in wanted}
            hashes = {k: hash(content(row)) for k, row in new.items()}
            if hashes == held:
                return False
            held.clear()
            held.update(hashes)
            batch.replace(table, owner, list(new.values()))
            return True
        changed = False
        digests = {key(row): (hash(content(row)), row) for row in wanted}  # a key's last row
        for k, digest in list(held.items()):
            if only is not None and not only(k):
                continue
            found = digests.get(k)
            if found is None or found[0] != digest:
                batch.close(table, k, at)
                del held[k]
                changed = True
        for k, (digest, w) in digests.items():
            if k not in held:
                held[k] = digest
                batch.insert(table, k, w if w.known_from == at else replace(w, known_from=at))
                changed = True
        return changed

    def rows(self, table: tb.Table) -> dict[Any, dict[tuple[Any, ...], int]]:
        """Every owner's held rows, as key -> content hash (for tests)."""
        return self._rows[table.base]
