# pg_cluster.sh: a PostgreSQL cluster of a test's own (Debian's postgresql-15), sourced by
# the integration tests (through lib.sh users) and tests/unit/with_pg.sh. Never the system
# service: initdb into a fresh folder, a free port on 127.0.0.1, trust authentication for
# the postgres role, fsync off (tests, not durability). initdb and postgres refuse to run
# as root, so as root they run as the `postgres` system user, in a folder it owns outside
# the test's (mode 0700, root-owned) temp dir.
# shellcheck shell=bash
#
#   pg_cluster_start NAME      sets PG_DIR, PG_PORT, PG_PID (the postmaster), PG_URL
#                              (postgresql://postgres@127.0.0.1:PORT/postgres)
#   pg_cluster_standby NAME    a streaming standby of the cluster (pg_basebackup -R): sets
#                              PG_STANDBY_DIR, PG_STANDBY_PORT
#   pg_cluster_stop [DIR]      stops the cluster of DIR (default PG_DIR) and removes DIR
#   pg_url DB                  the URL of database DB of the cluster
#   pg_sql [DB] SQL            runs SQL with psql, unaligned, no headers

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

_pg_as()
{
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_pg_free_port()
{
    if declare -F ota_free_port >/dev/null; then
        ota_free_port
        return
    fi
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _pg_start_dir DIR PORT: starts the cluster in DIR/data on PORT (the tests' settings)
_pg_start_dir()
{
    local dir=$1 port=$2
    _pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" \
        start >/dev/null 2>&1
}

pg_cluster_start()
{
    local name=${1:-pg}
    [[ -x $PG_BIN/initdb ]] || { echo "pg_cluster.sh: no $PG_BIN/initdb (postgresql-15)" >&2; return 1; }
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ota-$name.XXXXXX") || return 1
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$PG_DIR" || return 1
    fi
    _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale \
        --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    for _ in 1 2 3; do
        PG_PORT=$(_pg_free_port)
        if _pg_start_dir "$PG_DIR" "$PG_PORT"; then
            PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
            PG_URL=$(pg_url postgres)
            return 0
        fi
    done
    cat "$PG_DIR/postgres.log" >&2
    return 1
}

pg_cluster_standby()
{
    local name=${1:-standby}
    PG_STANDBY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ota-$name.XXXXXX") || return 1
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$PG_STANDBY_DIR" || return 1
    fi
    _pg_as "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres \
        -D "$PG_STANDBY_DIR/data" -R -X stream -c fast >"$PG_STANDBY_DIR/basebackup.log" 2>&1 ||
        { cat "$PG_STANDBY_DIR/basebackup.log" >&2; return 1; }
    PG_STANDBY_PORT=$(_pg_free_port)
    _pg_start_dir "$PG_STANDBY_DIR" "$PG_STANDBY_PORT" ||
        { cat "$PG_STANDBY_DIR/postgres.log" >&2; return 1; }
}

pg_url()
{
    echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"
}

pg_sql()
{
    local db=postgres
    [[ $# -lt 2 ]] || { db=$1; shift; }
    psql -X -q -A -t -v ON_ERROR_STOP=1 "$(pg_url "$db")" -c "$1"
}

pg_cluster_stop()
{
    local dir=${1:-${PG_DIR:-}}
    [[ -n $dir && -d $dir ]] || return 0
    if [[ -f $dir/data/postmaster.pid ]]; then
        _pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}
