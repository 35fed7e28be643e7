"""The event store: the one package of `domain` that knows eventsourcing and psycopg.

It stores JSON-ready facts and knows nothing of domain classes. Each fact is saved by an
eventsourcing `Application` as a `DomainEvent` envelope whose originator is the stream
(uuid5 of its name) and whose topic names the fact's type, so the database can filter by
type. In the same transaction as the events, under the log's write lock, the recorder writes
for every position the moment the store recorded it (never earlier than the previous one) and
the hash chain (`domain.chain`: h(n) covers h(n-1) and fact n), the fact's Merkle tree salt and
column (`domain.tree`, `domain.merkle`: the perfect subtrees it completes), and the name of every
new stream. The database refuses UPDATE, DELETE and TRUNCATE on all three tables.

Tables: PostgreSQL `impress_events` (the library's), `impress_recorded` (position,
recorded_at, chain_hash, salt, tree), `impress_streams` (stream, first_position) in the URL's schema;
SQLite `stored_events` (the library's; rowid is the position) and the same two side tables.

Modules: `facts` (what goes in and out, the envelope), `writer` (the side rows, shared),
`sqlite_store` and `postgres_store` (the recorders; `postgres_append`, PostgreSQL's pipelined
append), `decode` (stored rows back into facts), `config` (URL -> settings, batch checks),
`log` (EventLog).
"""

from eventstore.facts import (
    DATABASE_UNAVAILABLE,
    ChainLink,
    ConcurrentModification,
    Fact,
    LogEntry,
    LogInconsistent,
    NewEvent,
    StorageError,
    StoredFact,
    StreamPart,
    Unavailable,
    part_of,
    stream_id,
)
from eventstore.log import EventLog
from eventstore.postgres_schema import NotOwner

__all__ = ["DATABASE_UNAVAILABLE", "ChainLink", "ConcurrentModification", "EventLog", "Fact",
           "LogEntry", "LogInconsistent", "NewEvent", "NotOwner", "StorageError", "StoredFact", "StreamPart",
           "Unavailable", "part_of", "stream_id"]
