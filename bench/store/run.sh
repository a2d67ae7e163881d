#!/usr/bin/env bash
# Benchmark of the store's engines: durable encrypted submissions on SQLite (one node), on
# PostgreSQL (one node), and on PostgreSQL with two nodes behind HAProxy (PROXY v2), with
# nginx serving the same page as the reference, in one run. Browser-like and keep-alive.
#
#   bench/store/run.sh
#
# Environment (all optional): CONNECTIONS=16 DURATION=15 WARMUP=3 BUILD_DIR=build/release
# NO_BUILD=1 NGINX=/usr/sbin/nginx HAPROXY=/usr/sbin/haproxy BENCH_TMPDIR=/tmp (a real disk,
# not tmpfs: fsync must cost what it costs).
#
# Per submission it also reports the server CPU time, the bytes the database wrote (SQLite:
# the process's write_bytes; PostgreSQL: WAL bytes from pg_stat_wal) and, on PostgreSQL,
# the statements run (pg_stat_statements calls: each is one round trip). The PostgreSQL
# cluster is a private one (tests/support/postgres.sh) with pg_stat_statements loaded.
# Figures are printed, never asserted. Everything started is stopped on any exit.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build/release}"
CONNECTIONS="${CONNECTIONS:-16}"
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
NGINX="${NGINX:-/usr/sbin/nginx}"
HAPROXY="${HAPROXY:-/usr/sbin/haproxy}"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/store/run.sh: %s\n' "$*" >&2; exit 1; }

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then (cd "$REPO" && cmake --preset release >/dev/null); fi
if [[ -z "${NO_BUILD:-}" ]]; then
  say "building sealpost and sealpost_loadgen (release)"
  ninja -C "$BUILD_DIR" sealpost sealpost_loadgen >/dev/null
fi
SEALPOST="$BUILD_DIR/src/app/sealpost"
LOADGEN="$BUILD_DIR/bench/sealpost_loadgen"
[[ -x "$SEALPOST" && -x "$LOADGEN" ]] || die "no release build of sealpost and sealpost_loadgen"
[[ -x "$NGINX" ]] || die "no nginx at $NGINX (apt-get install nginx-light)"
[[ -x "$HAPROXY" ]] || die "no haproxy at $HAPROXY (apt-get install haproxy)"

TMP="$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sealpost-store-bench.XXXXXX")"
PIDS=()
PGSTATE="$TMP/pg"
export GNUPGHOME="$TMP/gnupg"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$REPO/tests/support/postgres.sh" stop "$PGSTATE" >/dev/null 2>&1 || true
  gpgconf --kill all >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP"/*.err; do [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- a private PostgreSQL with pg_stat_statements ----------------------------------------
say "starting a private PostgreSQL"
"$REPO/tests/support/postgres.sh" start "$PGSTATE" >/dev/null
CLUSTER="$(cat "$PGSTATE/cluster")"
BINDIR="$(cat "$PGSTATE/bindir")"
ADMIN="$(cat "$PGSTATE/admin_uri")"
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
echo "shared_preload_libraries = 'pg_stat_statements'" >>"$CLUSTER/data/postgresql.conf"
as_pg "$BINDIR/pg_ctl" -D "$CLUSTER/data" -w -m fast restart -l "$CLUSTER/server.log" >/dev/null
psql "$ADMIN" -Xqc "CREATE DATABASE bench OWNER sealpost" >/dev/null
psql "${ADMIN%/*}/bench" -Xqc "CREATE EXTENSION pg_stat_statements" >/dev/null
printf '%s' "$(cat "$PGSTATE/password")" >"$TMP/db-password"
PGURI="$(cat "$PGSTATE/uri_base")bench"

# ---- data directories --------------------------------------------------------------------
mkdir -m 700 "$GNUPGHOME"
gpg_() { gpg --batch --yes --pinentry-mode loopback --passphrase '' "$@"; }
gpg_ --quick-gen-key "Bench Recipient <bench@example.org>" future-default default never 2>/dev/null
FPR="$(gpg_ --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')"
gpg_ --armor --export "$FPR" >"$TMP/recipient.asc"
sed "s/@DEMO_RECIPIENT_FINGERPRINT@/$FPR/" "$REPO/examples/intake.toml" >"$TMP/intake.toml"

make_data() {  # dir [database args...]
  local dir="$1"; shift
  "$SEALPOST" init --data "$dir" --hostname localhost "$@" >/dev/null
  "$SEALPOST" key import --data "$dir" "$TMP/recipient.asc" >/dev/null
  "$SEALPOST" form add --data "$dir" "$TMP/intake.toml" >/dev/null
  # One client address: rate limits at their upper bounds.
  sed -i '/^\[rate_limit\]/a per_ip_per_minute = 100000\nper_ip_burst = 100000\nper_form_per_minute = 10000000\nper_form_burst = 1000000' \
    "$dir/sealpost.toml"
}
make_data "$TMP/sqlite"
make_data "$TMP/pg-a" --database "$PGURI" --database-password-file "$TMP/db-password"
cp -a "$TMP/pg-a" "$TMP/pg-b"
cp -a "$TMP/pg-a" "$TMP/pg-single"  # reached directly, so no trusted proxy
# Behind HAProxy: the nodes trust it (127.0.0.1) for the PROXY v2 header.
for d in "$TMP/pg-a" "$TMP/pg-b"; do
  sed -i '/^\[server\]/a trusted_proxies = ["127.0.0.1/32"]' "$d/sealpost.toml"
done

start_node() {  # name dir -> sets PORT_<name>, PID_<name>
  local name="$1" dir="$2" port=""
  "$SEALPOST" serve --data "$dir" --https-listen 127.0.0.1:0 --http-listen "" --admin-listen "" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 600); do
    port="$(sed -n 's/^listening https [^ ]*:\([0-9]*\)$/\1/p' "$TMP/$name.out")"
    [[ -n "$port" ]] && break
    kill -0 "$pid" 2>/dev/null || die "$name exited before listening"
    sleep 0.1
  done
  [[ -n "$port" ]] || die "$name did not print its port"
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}

# ---- nginx, the reference: the same page, the same certificate --------------------------
WWW="$TMP/www"
mkdir -p "$WWW" "$TMP/nginx"
start_node sqlite "$TMP/sqlite"
curl -sSk -o "$WWW/intake.html" "https://127.0.0.1:$PORT_sqlite/f/intake"
cp "$WWW/intake.html" "$WWW/thanks.html"  # a page of the same size stands in for the thanks page
NGINX_PORT="$(free_port)"
NGINX_USER=""
[[ $EUID -eq 0 ]] && NGINX_USER="user $(id -un) $(id -gn);"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $(nproc);
$NGINX_USER
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  default_type text/html;
  keepalive_requests 1000;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $TMP/sqlite/tls/cert.pem;
    ssl_certificate_key $TMP/sqlite/tls/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets off;
    root $WWW;
    location = /f/intake {
      if (\$request_method = POST) { return 303 /f/intake/thanks/0000-0000-0000; }
      try_files /intake.html =404;
    }
    location = /f/intake/thanks/0000-0000-0000 { try_files /thanks.html =404; }
  }
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>>"$TMP/nginx.err" &
PIDS+=($!)

start_node pgsingle "$TMP/pg-single"
start_node pga "$TMP/pg-a"
start_node pgb "$TMP/pg-b"
HAPROXY_PORT="$(free_port)"
cat >"$TMP/haproxy.cfg" <<EOF
global
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen sealpost
  bind 127.0.0.1:$HAPROXY_PORT
  balance roundrobin
  server a 127.0.0.1:$PORT_pga send-proxy-v2
  server b 127.0.0.1:$PORT_pgb send-proxy-v2
EOF
"$HAPROXY" -f "$TMP/haproxy.cfg" -db 2>"$TMP/haproxy.err" &
PIDS+=($!)
sleep 1

# ---- measuring ---------------------------------------------------------------------------
TICKS="$(getconf CLK_TCK)"
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $t; }
write_bytes() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^write_bytes/ { print $2 }' "/proc/$p/io"))); done; echo $t; }
db_ticks() {  # the PostgreSQL postmaster and its backends
  local pm t=0 p
  pm="$(head -1 "$CLUSTER/data/postmaster.pid")"
  for p in "$pm" $(ps --ppid "$pm" -o pid= 2>/dev/null); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo $t
}
pgq() { psql "${ADMIN%/*}/bench" -XAtqc "$1"; }
RESULTS="$TMP/results"
: >"$RESULTS"

run_one() {  # label port mode pids...
  local label="$1" port="$2" mode="$3"; shift 3
  local flag=""; [[ "$mode" == keep-alive ]] && flag="--keep-alive"
  say "$label, $mode: $CONNECTIONS connections, ${WARMUP}s + ${DURATION}s"
  local cpu0 io0 wal0 calls0 out cpu1 io1 wal1 calls1 db0 db1
  cpu0="$(cpu_ticks "$@")"; io0="$(write_bytes "$@")"; db0="$(db_ticks)"
  wal0="$(pgq "SELECT wal_bytes FROM pg_stat_wal")"
  calls0="$(pgq "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements")"
  out="$("$LOADGEN" --host 127.0.0.1 --port "$port" --path /f/intake --name "$label" \
    --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" $flag)"
  cpu1="$(cpu_ticks "$@")"; io1="$(write_bytes "$@")"; db1="$(db_ticks)"
  wal1="$(pgq "SELECT wal_bytes FROM pg_stat_wal")"
  calls1="$(pgq "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements")"
  local result subs
  result="$(printf '%s\n' "$out" | grep '^RESULT ')"
  subs="$(printf '%s\n' "$result" | sed 's/.* submissions=\([0-9]*\).*/\1/')"
  # Counters include the warm-up; loadgen counts the window only: scale by the share of time.
  awk -v r="$result" -v l="$label" -v c=$((cpu1 - cpu0)) -v dbc=$((db1 - db0)) -v hz="$TICKS" -v io=$((io1 - io0)) \
    -v wal="$(awk -v a="$wal1" -v b="$wal0" 'BEGIN { print a - b }')" -v calls=$((calls1 - calls0)) \
    -v n="$subs" -v w="$WARMUP" -v d="$DURATION" -v pg="$([[ $label == sqlite* || $label == nginx ]] && echo 0 || echo 1)" \
    'BEGIN {
       total = n * (w + d) / d; if (total < 1) total = 1
       printf "%s label=%s cpu_ms_per_sub=%.2f db_cpu_ms_per_sub=%s bytes_per_sub=%.0f stmts_per_sub=%s\n", r, l,
         1000 * c / hz / total, (pg ? sprintf("%.2f", 1000 * dbc / hz / total) : "-"),
         (pg ? wal : io) / total, (pg ? sprintf("%.1f", calls / total) : "-")
     }' >>"$RESULTS"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for mode in browser keep-alive; do
  run_one sqlite "$PORT_sqlite" "$mode" "$PID_sqlite"
  run_one postgres-1-node "$PORT_pgsingle" "$mode" "$PID_pgsingle"
  run_one postgres-2-nodes "$HAPROXY_PORT" "$mode" "$PID_pga" "$PID_pgb"
  NGINX_MASTER="$(cat "$TMP/nginx/nginx.pid")"
  # shellcheck disable=SC2046 # the master and its workers, one pid each
  run_one nginx "$NGINX_PORT" "$mode" "$NGINX_MASTER" $(ps --ppid "$NGINX_MASTER" -o pid=)
done

echo
echo "store engines, $CONNECTIONS connections, ${DURATION}s per run (+${WARMUP}s warm-up), $(nproc) cores"
echo "load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  function f(line, key,   re) { re = " " key "=[^ ]*"; if (match(" " line, re)) return substr(" " line, RSTART + length(key) + 2, RLENGTH - length(key) - 2); return "" }
  { l = f($0, "label"); m = f($0, "mode"); rate[l, m] = f($0, "subs_per_s"); p50[l, m] = f($0, "p50_ms")
    p99[l, m] = f($0, "p99_ms"); cpu[l, m] = f($0, "cpu_ms_per_sub"); dbc[l, m] = f($0, "db_cpu_ms_per_sub"); b[l, m] = f($0, "bytes_per_sub")
    st[l, m] = f($0, "stmts_per_sub"); err[l, m] = f($0, "errors") }
  END {
    printf "%-17s %-11s %9s %8s %8s %11s %10s %10s %10s %6s\n", "setup", "mode", "subs/s", "p50 ms", "p99 ms", "srv CPU ms", "db CPU ms", "bytes/sub", "stmts/sub", "errors"
    split("browser keep-alive", modes, " "); split("sqlite postgres-1-node postgres-2-nodes nginx", ls, " ")
    for (i = 1; i <= 2; i++) for (j = 1; j <= 4; j++) { l = ls[j]; m = modes[i]
      printf "%-17s %-11s %9.1f %8.2f %8.2f %11s %10s %10s %10s %6s\n", l, m, rate[l, m], p50[l, m], p99[l, m], cpu[l, m], dbc[l, m], b[l, m], st[l, m], err[l, m] }
    print ""
    for (i = 1; i <= 2; i++) { m = modes[i]
      printf "%-10s postgres-1-node/sqlite %.2f   postgres-2-nodes/sqlite %.2f   sqlite/nginx %.2f\n", m,
        rate["postgres-1-node", m] / rate["sqlite", m], rate["postgres-2-nodes", m] / rate["sqlite", m], rate["sqlite", m] / rate["nginx", m] }
  }' "$RESULTS"
echo
echo "stored: sqlite $("$SEALPOST" form list --data "$TMP/sqlite" | grep -o 'submissions [0-9]*'), postgres $("$SEALPOST" form list --data "$TMP/pg-a" | grep -o 'submissions [0-9]*')"
sed 's/^/  /' "$RESULTS"
