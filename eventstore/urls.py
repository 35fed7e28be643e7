"""A PostgreSQL URL as the ledger reads it, for the event store and the read models alike.

    postgresql://user:password@host:port/dbname?schema=...&pool_size=...
    postgresql://user@primary:5432,standby:5432/dbname?target_session_attrs=read-write

Several hosts (libpq's multi-host form) let a connection find whichever server is the primary
now: with `target_session_attrs=read-write` a standby is passed over, so after a failover the
same URL reaches the promoted one (docs/adr/0018). Options are of two kinds: the library's
(`schema`, `pool_size`, `max_overflow`, `lock_timeout`, `pre_ping`) and libpq's, passed to every
connection (`target_session_attrs`, `connect_timeout`, `sslmode`, `keepalives_idle`, ...).
`connect_timeout` (default 5 s) bounds each connection attempt, and how long a request waits
for a connection from the pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from psycopg.conninfo import make_conninfo

LIBRARY_OPTIONS = {  # URL query parameter -> eventsourcing setting
    "schema": "POSTGRES_SCHEMA", "pool_size": "POSTGRES_POOL_SIZE",
    "max_overflow": "POSTGRES_MAX_OVERFLOW", "lock_timeout": "POSTGRES_LOCK_TIMEOUT",
    "pre_ping": "POSTGRES_PRE_PING",
}
LIBPQ_OPTIONS = frozenset({
    "connect_timeout", "target_session_attrs", "load_balance_hosts", "application_name",
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "passfile", "keepalives",
    "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
})
CONNECT_TIMEOUT = "5"  # seconds, unless the URL says otherwise


@dataclass(frozen=True)
class PostgresTarget:
    hosts: tuple[str, ...]
    ports: tuple[str, ...]
    dbname: str
    user: str
    password: str
    library: dict[str, str] = field(default_factory=dict)
    libpq: dict[str, str] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return self.library.get("schema", "").strip() or "public"

    @property
    def connect_timeout(self) -> int:
        return int(self.libpq["connect_timeout"])

    def kwargs(self) -> dict[str, str]:
        """psycopg.connect() keyword arguments: every host, every libpq option."""
        out = {"host": ",".join(self.hosts), "port": ",".join(self.ports), "dbname": self.dbname,
               "user": self.user, **self.libpq}
        if self.password:
            out["password"] = self.password
        return out

    def conninfo(self) -> str:
        return make_conninfo("", **self.kwargs())


def parse_postgres_url(url: str) -> PostgresTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"unsupported database URL (sqlite:/// or postgresql://): {url!r}")
    options = dict(parse_qsl(parts.query))
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    hosts, ports = _hosts(options.pop("host", "") or hostlist, url)
    unknown = set(options) - set(LIBRARY_OPTIONS) - LIBPQ_OPTIONS
    dbname = unquote(parts.path.strip("/"))
    if unknown or not dbname:
        raise ValueError(f"bad PostgreSQL URL {url!r} (unknown options: {sorted(unknown)})")
    libpq = {"connect_timeout": CONNECT_TIMEOUT} | {k: v for k, v in options.items()
                                                    if k in LIBPQ_OPTIONS}
    if not libpq["connect_timeout"].isdigit() or int(libpq["connect_timeout"]) < 1:
        raise ValueError(f"connect_timeout must be a whole number of seconds >= 1: {url!r}")
    return PostgresTarget(hosts, ports, dbname, unquote(user), unquote(password),
                          {k: v for k, v in options.items() if k in LIBRARY_OPTIONS}, libpq)


def _hosts(hostlist: str, url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """host[:port],host[:port],... (IPv6 addresses in brackets); the port defaults to 5432."""
    hosts, ports = [], []
    for item in hostlist.split(","):
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        elif item.count(":") == 1:
            host, _, port = item.partition(":")
        else:
            host, port = item, ""
        if not host or (port and not port.isdigit()):
            raise ValueError(f"bad host list in PostgreSQL URL {url!r}: {hostlist!r}")
        hosts.append(unquote(host))
        ports.append(port or "5432")
    return tuple(hosts), tuple(ports)
