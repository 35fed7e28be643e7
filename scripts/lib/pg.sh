# Shared by scripts/with-postgres and scripts/pg-server (sourced, not run).
#
# find_bindir: the PostgreSQL server binaries (installed with apt when run as root and missing).
# as_server CMD...: runs CMD as the user that may run a server (postgres, when we are root).
# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
# TMPROOT: where to make server directories (reachable by that user).

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

find_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"; return 0
        fi
    fi
    # Debian/Ubuntu layout: take the newest installed major version.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"; return 0
        fi
    done
    return 1
}

pg_bindir() {
    local bindir
    bindir="$(find_bindir || true)"
    if [[ -z "$bindir" && $EUID -eq 0 ]]; then
        echo "$(basename "$0"): no PostgreSQL binaries found; installing the postgresql package" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; } \
            || true
        bindir="$(find_bindir || true)"
    fi
    [[ -n "$bindir" ]] || die "no PostgreSQL server binaries found (install the 'postgresql' package, or put pg_config on PATH)"
    echo "$bindir"
}

# The server refuses to run as root: as root, run it as the 'postgres' user.
if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server as"
    as_server() { runuser -u postgres -- "$@"; }
    TMPROOT=/tmp   # must be reachable by the postgres user
else
    as_server() { "$@"; }
    TMPROOT="${TMPDIR:-/tmp}"
fi

# A directory the server's user owns.
server_dir() {
    local dir="$1"
    mkdir -p "$dir"
    chmod 700 "$dir"
    if [[ $EUID -eq 0 ]]; then chown postgres: "$dir"; fi
}

free_port() {
    python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# initdb with the test user as superuser, trust authentication (local and replication).
init_cluster() {
    local bindir="$1" pgdata="$2" user="$3" log="$4"
    as_server "$bindir/initdb" -D "$pgdata" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
        >"$log" 2>&1 \
        || as_server "$bindir/initdb" -D "$pgdata" -U "$user" --auth=trust -E UTF8 --no-locale --no-sync \
        >"$log" 2>&1 \
        || { cat "$log" >&2; die "initdb failed"; }
}

# Start a server on a free port (another process may take it between choosing and binding:
# retry). Prints the port. Extra server options in $3.
start_cluster() {
    local bindir="$1" pgdata="$2" options="$3" port attempt
    local dir; dir="$(dirname "$pgdata")"
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        if as_server "$bindir/pg_ctl" -D "$pgdata" -l "$dir/server.log" -w -t 60 start -o "\
            -c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
            -c log_min_messages=warning -c log_min_error_statement=panic $options" >/dev/null 2>&1; then
            echo "$port"
            return 0
        fi
    done
    cat "$dir/server.log" >&2 2>/dev/null || true
    return 1
}
