#!/usr/bin/env bash
# Focused benchmark of one shared rate-limit take (issue 7): the GCRA upsert of
# src/store/detail/rate_limits.cpp, run by pgbench (prepared, one statement per
# transaction, as sealpost runs it in autocommit) against a private PostgreSQL on loopback.
#
#   bench/store/rate_limits.sh
#
# Environment (optional): DURATION=8 (seconds per run).
#
# Two key patterns: `hot`, every take on one row (a form's budget: all posts to one form), and
# `spread`, takes over 100,000 rows (client addresses). Two tables: UNLOGGED, as the
# migration makes it, and an ordinary (logged) one, to show what UNLOGGED saves: a logged
# row update holds its row lock until the commit's WAL flush. The bucket never refuses
# (a huge tolerance): every take writes. Figures are printed, never asserted. The cluster is
# stopped and removed on any exit.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DURATION="${DURATION:-8}"
TMP="$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sealpost-rate-bench.XXXXXX")"
cleanup() {
  "$REPO/tests/support/postgres.sh" stop "$TMP/pg" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

"$REPO/tests/support/postgres.sh" start "$TMP/pg" >/dev/null
ADMIN="$(cat "$TMP/pg/admin_uri")"
PGBENCH="$(cat "$TMP/pg/bindir")/pgbench"
psql "$ADMIN" -Xqc "CREATE DATABASE ratebench"
DB="${ADMIN%/*}/ratebench"
psql "$DB" -Xq -c "CREATE UNLOGGED TABLE rate_buckets (key TEXT PRIMARY KEY NOT NULL, tat BIGINT NOT NULL)" \
  -c "CREATE TABLE logged_buckets (key TEXT PRIMARY KEY NOT NULL, tat BIGINT NOT NULL)"

take() {  # table key-expression: the take statement with now = 1000, interval = 6
  local t="$1" key="$2"
  echo "INSERT INTO $t (key, tat) VALUES ($key, CAST(1000 AS BIGINT) + CAST(6 AS BIGINT)) \
ON CONFLICT (key) DO UPDATE SET tat = CASE WHEN $t.tat > CAST(1000 AS BIGINT) THEN $t.tat \
ELSE CAST(1000 AS BIGINT) END + CAST(6 AS BIGINT) WHERE CASE WHEN $t.tat > CAST(1000 AS BIGINT) \
THEN $t.tat ELSE CAST(1000 AS BIGINT) END + CAST(6 AS BIGINT) <= CAST(1000 AS BIGINT) + \
CAST(9000000000000000000 AS BIGINT) RETURNING tat;"
}
for t in rate_buckets logged_buckets; do
  take "$t" "'post form intake'" >"$TMP/hot-$t.sql"
  { echo '\set k random(1, 100000)'; take "$t" "'post ip ' || :k"; } >"$TMP/spread-$t.sql"
done

printf '%-8s %-15s %8s %10s %14s\n' keys table clients takes/s "latency ms"
for keys in hot spread; do
  for t in rate_buckets logged_buckets; do
    for clients in 1 16; do
      out="$("$PGBENCH" -n -M prepared -c "$clients" -j 1 -T "$DURATION" -f "$TMP/$keys-$t.sql" "$DB" 2>&1)"
      tps="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")"
      lat="$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")"
      printf '%-8s %-15s %8s %10.0f %14s\n' "$keys" "$t" "$clients" "$tps" "$lat"
    done
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
