#!/usr/bin/env bash
# Benchmark: SMTP submission throughput, sealpost's submission listener against Postfix's
# submission service (smtpd with STARTTLS required), in one run, fed by the same client.
#
#   bench/submission/run.sh      (as root: Postfix's master must be started by root)
#
# Environment (all optional):
#   COUNT=2000          messages per server
#   CONNECTIONS=8       client sessions in parallel (each STARTTLS once, then its share)
#   BODY_BYTES=5000     text body of each message
#   BUILD_DIR=build/release  NO_BUILD=1 (use the build as it is)
#   PERF=1              profile sealpost serve during its run (perf record -g) and print the
#                       top of `perf report` after the table (installs linux-perf if needed)
#   BENCH_TMPDIR=/tmp   parent of the temporary directory: a real disk (both queues fsync)
#
# What runs, on loopback, started here and stopped on any exit:
# - sealpost serve with --submission-listen, DKIM keys from `sealpost dkim init`; each message
#   is authenticated (AUTH PLAIN with an API key, once per session), parsed, built, DKIM-signed
#   (Ed25519 + RSA), sealed and committed with its audit entry before the 250. Its resolver
#   points at a port where nothing answers, so deliveries only wait and defer: the figure is
#   acceptance, not delivery.
# - a private Postfix (tests/support/postfix_instance.py: its own config and queue; never
#   the system one) whose smtpd requires STARTTLS (smtpd_tls_security_level = encrypt) and
#   holds every message (header_checks HOLD): queued with fsync, never delivered. It does no
#   SASL (a Postfix SASL server needs Cyrus sasldb or Dovecot) and no DKIM: it does less per
#   message than sealpost, which the figures must be read with.
# - bench/submission/submit.py, the client of both.
# Figures are printed, never asserted: this is not a test.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build/release}"
COUNT="${COUNT:-2000}"
CONNECTIONS="${CONNECTIONS:-8}"
BODY_BYTES="${BODY_BYTES:-5000}"
PY=/usr/bin/python3

say() { printf '%s\n' "$*" >&2; }
die() { say "bench/submission: $*"; exit 1; }

[[ "$(id -u)" == 0 ]] || die "run as root (Postfix's master must be started by root)"
if ! [[ -x /usr/sbin/postfix && -x /usr/sbin/postqueue ]] || ! command -v openssl >/dev/null; then
  say "installing postfix and openssl (apt-get)"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix openssl >/dev/null ||
    die "apt-get install postfix openssl failed"
fi
for tool in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/postqueue openssl; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --with-tests)"
done
if [[ -z "${NO_BUILD:-}" ]]; then
  # g++ 12 at -O2 reports a false -Wmismatched-new-delete (an error under -Werror) in Boost.Asio's
  # coroutine frame of src/mail/submission/server.cpp (Session::auth); the asan build does not.
  [[ -f "$BUILD_DIR/build.ninja" ]] || (cd "$REPO" && cmake --preset release \
    -DCMAKE_CXX_FLAGS=-Wno-mismatched-new-delete >/dev/null)
  cmake --build "$BUILD_DIR" --target sealpost >/dev/null
fi
SEALPOST="$BUILD_DIR/src/app/sealpost"
[[ -x "$SEALPOST" ]] || die "no $SEALPOST (build it, or set BUILD_DIR)"

TMP="$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sealpost-bench-submission.XXXXXX")"
chmod 755 "$TMP"  # Postfix's daemons (user postfix) pass through it
SERVE_PID=""
cleanup() {
  [[ -n "${PERF_PID:-}" ]] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null || true
  [[ -n "$SERVE_PID" ]] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
  [[ -d "$TMP/postfix/etc" ]] && /usr/sbin/postfix -c "$TMP/postfix/etc" stop >/dev/null 2>&1 || true
  sleep 1
  rm -rf "$TMP"
}
trap cleanup EXIT

# -- sealpost ---------------------------------------------------------------------------
DATA="$TMP/data"
"$SEALPOST" init --data "$DATA" >/dev/null
"$SEALPOST" dkim init --data "$DATA" --domain bench.example --selector b1 >/dev/null
PYTHONPATH="$REPO/tests/lib" "$PY" - "$DATA" <<'PYEOF'
import sys
from harness import set_config_value
data = sys.argv[1]
for key, value in [("hostname", "forms.bench.example"), ("default_sender", "forms@bench.example"),
                   ("dkim_selector", "b1"), ("trust_anchor_file", ""),
                   ("resolver", "127.0.0.1:9")]:
    set_config_value(data, "mail", key, value)
for key, value in [("messages_per_minute", 100000), ("messages_burst", 100000)]:
    set_config_value(data, "submission", key, value)
PYEOF
KEY="$("$SEALPOST" apikey add --data "$DATA" --name bench --scope messages:send 2>/dev/null)"
"$SEALPOST" serve --data "$DATA" --https-listen 127.0.0.1:0 --http-listen "" --admin-listen "" \
  --submission-listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVE_PID=$!
SP_PORT=""
for _ in $(seq 1 120); do
  SP_PORT="$(sed -n 's/^listening submission [^ ]*:\([0-9]*\)$/\1/p' "$TMP/serve.out")"
  [[ -n "$SP_PORT" ]] && break
  sleep 0.5
done
[[ -n "$SP_PORT" ]] || { cat "$TMP/serve.err" >&2; die "sealpost did not listen"; }

# -- Postfix ------------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$TMP/pf.key" -out "$TMP/pf.crt" 2>/dev/null
chmod 644 "$TMP/pf.key"
PF_PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PYTHONPATH="$REPO/tests/support" "$PY" - "$TMP/postfix" "$PF_PORT" "$TMP/pf.crt" "$TMP/pf.key" <<'PYEOF'
import sys
from postfix_instance import PostfixInstance
PostfixInstance(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
PYEOF
echo '/^Subject:/ HOLD' >"$TMP/postfix/etc/hold.regexp"
/usr/sbin/postconf -c "$TMP/postfix/etc" -e \
  "smtpd_tls_security_level=encrypt" "header_checks=regexp:$TMP/postfix/etc/hold.regexp" \
  "smtpd_relay_restrictions=permit_mynetworks,reject" "message_size_limit=10485760"
/usr/sbin/postfix -c "$TMP/postfix/etc" start >/dev/null 2>&1 || die "postfix start failed"
for _ in $(seq 1 40); do
  "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PF_PORT), 1)" 2>/dev/null && break
  sleep 0.5
done

# -- runs ---------------------------------------------------------------------------------
RATE=()
run() {  # label port [user password]: one Markdown row
  local out n seconds
  out="$("$PY" "$REPO/bench/submission/submit.py" --host 127.0.0.1 --port "$2" --count "$COUNT" \
    --connections "$CONNECTIONS" --body-bytes "$BODY_BYTES" --sender clinic@bench.example \
    --to patient@example.net ${3:+--user "$3" --password "$4"})"
  n="$(sed -n 's/.* n=\([0-9]*\) .*/\1/p' <<<"$out")"
  seconds="$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")"
  RATE+=("$(awk -v n="$n" -v s="$seconds" 'BEGIN { printf "%.1f", n / s }')")
  printf '| %-8s | %5s | %s | %8s | %7s | %7s | %7s |\n' "$1" "$n" \
    "$(sed -n 's/.*refused=\([0-9]*\).*/\1/p' <<<"$out")" "${RATE[-1]}" "$seconds" \
    "$(sed -n 's/.*p50=\([0-9.]*\).*/\1/p' <<<"$out")" "$(sed -n 's/.*p99=\([0-9.]*\).*/\1/p' <<<"$out")"
}
say "sealpost on 127.0.0.1:$SP_PORT; Postfix $(/usr/sbin/postconf -d -h mail_version) on 127.0.0.1:$PF_PORT"
say "$COUNT messages of ${BODY_BYTES} bytes each, $CONNECTIONS sessions, STARTTLS"
echo "## SMTP submission ($(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "| server   | accepted | refused | msgs/s | seconds | p50 (ms) | p99 (ms) |"
echo "|---|---|---|---|---|---|---|"
PERF_PID=""
if [[ -n "${PERF:-}" ]]; then
  command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
  perf record -q -F 499 -g -p "$SERVE_PID" -o "$TMP/perf.data" >/dev/null 2>&1 &
  PERF_PID=$!
  sleep 1
fi
run sealpost "$SP_PORT" bench "$KEY"
if [[ -n "$PERF_PID" ]]; then
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
fi
run postfix "$PF_PORT"
echo "ratio sealpost / Postfix: $(awk -v a="${RATE[0]}" -v b="${RATE[1]}" 'BEGIN { printf "%.2f", a / b }')"
queued="$(PYTHONPATH="$REPO/tests/lib" "$PY" -c "
import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM mail_messages').fetchone()[0])" "$DATA/sealpost.db")"
held="$(/usr/sbin/postqueue -c "$TMP/postfix/etc" -p | grep -c '^[0-9A-F]*!' || true)"
echo "queued: sealpost $queued, Postfix $held (held)"
if [[ -n "${PERF:-}" && -s "$TMP/perf.data" ]]; then
  echo "## perf: sealpost serve during its run (self time, top symbols)"
  perf report -i "$TMP/perf.data" --no-children -g none --sort dso,symbol --stdio 2>/dev/null |
    grep -v '^#' | grep '%' | head -n 30
fi
