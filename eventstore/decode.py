"""Stored rows back into StoredFacts: directly for rows as the ledger writes them, through the
library's mapper for anything else.

The mapper's per-row work for a fact is a JSON parse with a Python hook on every object (to
find transcoded values), a topic lookup, an id conversion and an envelope object; the ledger
wrote a fact's data and actor refusing the transcoder's reserved keys (config.check_json), so
for its own rows only the envelope's timestamp is transcoded. The direct path takes a row
only if nothing the mapper would do can differ: no cipher or compressor configured, a topic
that resolves to a Fact envelope, exactly one "_type_" (the timestamp's) and no \\u escape in
the JSON, the fields present, the row's stream id the id of the stream named inside. Any
other row (older, tampered) goes through the mapper, and reads, or fails, exactly as before.
"""

from __future__ import annotations

import functools
import json
from hashlib import sha1
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from eventstore.facts import STREAM_NAMESPACE, Fact, StoredFact, stream_id
from eventstore.writer import FactRow

_TYPE_KEY = b'"_type_"'
_ESCAPE = b"\\u"
# json.loads's own decoder (strict, floats as float), without an object hook; scan_once
# raises StopIteration where json.loads would raise on the first character.
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # not in typeshed
_parse_time, _parse_day = datetime.fromisoformat, date.fromisoformat


_NAMESPACE = STREAM_NAMESPACE.bytes


@functools.lru_cache(maxsize=4096)
def _stream_key(stream: str) -> str:
    """A stream's id as SQLite stores it (hex), for rows read without parsing the id: uuid5's
    bytes (SHA-1 of the namespace and the name, with uuid5's version and variant bits) without
    the UUID object. A rebuild meets 100 000 patients in turn, so this cache mostly misses, and
    uuid5 was a third of decoding a fact."""
    digest = bytearray(sha1(_NAMESPACE + stream.encode()).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # RFC 4122 variant
    return digest.hex()


class FactDecoder:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self._mapper = mapper
        transcoder = mapper.transcoder
        self.direct = (mapper.cipher is None and mapper.compressor is None
                       and isinstance(transcoder, JSONTranscoder)
                       and type(transcoder.names.get("datetime_iso")) is DatetimeAsISO)
        self._types: dict[str, str] = {}  # topic -> fact type, for Fact envelopes only

    def rows(self, rows: Sequence[FactRow]) -> list[StoredFact]:
        facts = []
        raw_time: Any = None
        utc_time: Any = None
        for row in rows:
            if row.recorded_at != raw_time:  # a batch shares one time: convert it once
                raw_time, utc_time = row.recorded_at, row.recorded_at.astimezone(UTC)
            facts.append(self.fact(row.event, row.position, utc_time))
        return facts

    def fact(self, stored: StoredEvent, position: int, recorded_at: datetime) -> StoredFact:
        """recorded_at: already in UTC."""
        if self.direct:
            fact = self._direct(stored, position, recorded_at)
            if fact is not None:
                return fact
        return self.mapped(stored, position, recorded_at)

    def mapped(self, stored: StoredEvent, position: int, recorded_at: datetime) -> StoredFact:
        """Through the library's mapper: any row, as the log always read it."""
        envelope = self._mapper.to_domain_event(stored)
        assert isinstance(envelope, Fact)
        return StoredFact(
            position=position, stream=envelope.stream, version=envelope.originator_version,
            type=stored.topic.partition(":")[2], schema=envelope.schema, data=envelope.data,
            valid_on=date.fromisoformat(envelope.valid_on) if envelope.valid_on else None,
            actor=envelope.actor, recorded_at=recorded_at)

    def _direct(self, stored: StoredEvent, position: int,
                recorded_at: datetime) -> StoredFact | None:
        fact_type = self._types.get(stored.topic)
        if fact_type is None and (fact_type := self._learn(stored.topic)) is None:
            return None
        state = stored.state
        if state.count(_TYPE_KEY) != 1 or _ESCAPE in state:
            return None
        try:
            text = state.decode("utf8")
            fields, end = _scan(text, 0)  # what json.loads does, less its Python wrapping
            if end != len(text) or type(fields) is not dict or "class_version" in fields:
                return None
            timestamp, stream, valid_on = fields["timestamp"], fields["stream"], fields["valid_on"]
            if (type(timestamp) is not dict or len(timestamp) != 2 or type(stream) is not str
                    or timestamp["_type_"] != "datetime_iso"):
                return None
            _parse_time(timestamp["_data_"])  # as the mapper would, which refuses a bad one
            if not _is_stream(stored.originator_id, stream):
                return None
            return StoredFact(position, stream, stored.originator_version, fact_type,
                              fields["schema"], fields["data"],
                              _parse_day(valid_on) if valid_on else None, fields["actor"],
                              recorded_at)
        except (ValueError, TypeError, KeyError, StopIteration):
            return None  # the mapper path raises what the log always raised

    def _learn(self, topic: str) -> str | None:
        try:
            cls = resolve_topic(topic)
        except Exception:  # noqa: BLE001 - the mapper path reports it
            return None
        if not (isinstance(cls, type) and issubclass(cls, Fact)
                and getattr(cls, "class_version", 1) == 1):
            return None
        self._types[topic] = fact_type = topic.partition(":")[2]
        return fact_type


def _is_stream(originator_id: UUID | str, stream: str) -> bool:
    if type(originator_id) is UUID:
        return originator_id == stream_id(stream)
    return type(originator_id) is str and originator_id == _stream_key(stream)
