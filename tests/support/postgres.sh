#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL for the tests: Debian's PostgreSQL 15 binaries,
# a new cluster in DIR, listening on 127.0.0.1 only, on a free port, no Unix socket in a
# shared place. Used as the ctest fixture `postgres` (tests/CMakeLists.txt).
#
# The cluster's data lives in a new directory under /tmp (the `postgres` user must reach
# it); DIR, which may be anywhere, only holds what the tests read:
#   postgres.sh start DIR   writes DIR/admin_uri (superuser, trust, for creating the tests'
#                           databases), DIR/uri_base and DIR/password (the `sealpost` role,
#                           scram-sha-256), DIR/port
#   postgres.sh stop DIR    stops it (fast) and removes DIR
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` system
# user that Debian's package creates.
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "postgres.sh: PostgreSQL server binaries not found (apt package postgresql; scripts/install-deps.sh --with-tests installs it)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    "$0" stop "$dir" || true
    mkdir -p "$dir"
    cluster=$(mktemp -d /tmp/sealpost-pg.XXXXXX)
    chmod 0755 "$cluster"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$cluster"; fi
    echo "$cluster" >"$dir/cluster"
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    # A free port: ask the kernel for one, then let PostgreSQL bind it (a race with another
    # process is possible but unlikely on loopback; the start fails loudly if it happens).
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bindir/initdb" -D "$cluster/data" -U postgres --auth-host=scram-sha-256 \
      --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$cluster/initdb.log" 2>&1
    cat >>"$cluster/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$cluster'
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 64MB
log_min_messages = warning
logging_collector = off
CONF
    # The superuser over TCP without a password (test set-up only); everyone else with
    # scram-sha-256, as in production.
    cat >"$cluster/data/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
    as_owner "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start >/dev/null
    as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
      -c "CREATE ROLE sealpost LOGIN CREATEDB PASSWORD '$password'" >/dev/null
    echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/admin_uri"
    echo "postgresql://sealpost@127.0.0.1:$port/" >"$dir/uri_base"
    printf '%s' "$password" >"$dir/password"
    echo "$port" >"$dir/port"
    echo "$bindir" >"$dir/bindir"
    chmod 0644 "$dir/admin_uri" "$dir/uri_base" "$dir/port" "$dir/bindir"
    chmod 0644 "$dir/password"  # a throw-away test cluster's password, readable by the tests
    echo "postgres.sh: PostgreSQL running on 127.0.0.1:$port ($cluster)"
    ;;
  stop)
    if [ -f "$dir/cluster" ]; then
      cluster=$(cat "$dir/cluster")
      if [ -f "$cluster/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$cluster/data" -m fast -w -t 60 stop >/dev/null || true
      fi
      case "$cluster" in /tmp/sealpost-pg.*) rm -rf "$cluster" ;; esac
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
