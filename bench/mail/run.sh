#!/usr/bin/env bash
# Benchmark: outbound mail, sealpost against Postfix, to the same local TLS sink in one run.
#
#   bench/mail/run.sh            (as root: Postfix's master must be started by root)
#
# Environment (all optional):
#   COUNT=20000            messages per sender and mode
#   BODY_BYTES=5000        text body of each message (about 6 KB on the wire with headers
#                          and the two DKIM signatures)
#   MODES="drain live"     drain: the queue is filled first, then released, and the clock
#                          runs from the release; live: the feeder enqueues while the
#                          sender delivers, and the clock runs from the first enqueue
#   SENDERS="sealpost postfix"  which senders run (both, for a comparison)
#   KEEP=DIR               copy the logs and the sink's records into DIR at the end
#   SEALPOST_MAX_CONNECTIONS=32 SEALPOST_MAX_PER_DOMAIN=4   sealpost's [mail] settings
#                          (their defaults); every message goes to one domain
#   SEALPOST_CRYPTO_THREADS=N  [server] crypto_threads (the blocking pool, where delivery's
#                          store work runs); unset: sealpost's default, one per core
#   CA_BUNDLE=system       the CA file both senders verify the sink against: "system" is
#                          Debian's bundle (/etc/ssl/certs/ca-certificates.crt, what a real
#                          deployment trusts) with the test CA appended; "test" is the test
#                          CA alone
#   SINK_THREADS=2         threads of the sink
#   INJECT_CONNECTIONS=16  SMTP sessions inject.py feeds Postfix with, in parallel
#   TIMEOUT=900            seconds a sender gets to deliver COUNT messages
#   PERF_OUT=FILE          if set: `perf record --call-graph dwarf` of sealpost serve during
#                          its drain run; its profile (by shared object, by symbol with and
#                          without callees) goes to FILE
#   BUILD_DIR=build/release  NO_BUILD=1  (use the build as it is)
#   BENCH_TMPDIR=/tmp      parent of the temporary directory: a real disk, not tmpfs (both
#                          queues fsync)
#
# What runs, all on loopback, all started here and stopped on any exit (the temporary
# directory removed):
# - NSD serving the DNSSEC-signed test zone (tests/support/dns.sh) with sink.sealpost.example
#   MX mx.sink.sealpost.example -> 127.0.0.41; sealpost resolves it (validating) per
#   attempt. Postfix does no DNS: its transport_maps send sink.sealpost.example to
#   [127.0.0.41]:PORT, and its TLS policy checks the certificate against the MX name.
# - sealpost_mail_sink (bench/mail/sink.cpp) on 127.0.0.41: STARTTLS with a certificate for
#   mx.sink.sealpost.example from a test CA (tests/lib/testca.py), answers 250 to all, and
#   records each message's arrival (bench/mail/sink.cpp says what).
# - sealpost serve, [mail] default_policy = "verify" with CA_BUNDLE's file as ca_file, DKIM
#   keys from `sealpost dkim init` (Ed25519 + RSA, two signatures per message). Fed by
#   sealpost_mail_enqueue (bench/mail/enqueue.cpp: mail::queue::prepare +
#   MailStore::enqueue_blocking with its audit entry, 50 messages per unit of work).
# - A private Postfix (Debian's, own config and queue directories; never the system
#   instance) with smtp_tls_security_level = verify, the same CA file, and two opendkim
#   milters signing with the same two keys. Fed over SMTP on 127.0.0.42 by
#   bench/mail/inject.py.
#   drain: a header_checks HOLD rule keeps what is injected; `postsuper -H ALL` and
#   `postqueue -f` release it.
# Figures are printed, never asserted: this is not a test. docs/PERFORMANCE.md ("Outbound
# mail") explains them.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build/release}"
COUNT="${COUNT:-20000}"
BODY_BYTES="${BODY_BYTES:-5000}"
MODES="${MODES:-drain live}"
SENDERS="${SENDERS:-sealpost postfix}"
KEEP="${KEEP:-}"
SEALPOST_MAX_CONNECTIONS="${SEALPOST_MAX_CONNECTIONS:-32}"
SEALPOST_MAX_PER_DOMAIN="${SEALPOST_MAX_PER_DOMAIN:-4}"
SEALPOST_CRYPTO_THREADS="${SEALPOST_CRYPTO_THREADS:-}"
CA_BUNDLE="${CA_BUNDLE:-system}"
SINK_THREADS="${SINK_THREADS:-2}"
INJECT_CONNECTIONS="${INJECT_CONNECTIONS:-16}"
TIMEOUT="${TIMEOUT:-900}"
PERF_OUT="${PERF_OUT:-}"
PY=/usr/bin/python3  # Debian's: dkimpy (python3-dkim) belongs to it
SINK_ADDR=127.0.0.41
POSTFIX_ADDR=127.0.0.42
ZONE=sealpost.example
DOMAIN=sink.$ZONE
MX=mx.$DOMAIN
SENDER=forms@$ZONE
RCPT=patient@$DOMAIN
SELECTOR=s2026

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/mail/run.sh: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "run as root: Postfix's master must be started by root"
for tool in /usr/sbin/postfix /usr/sbin/postsuper /usr/sbin/postqueue /usr/sbin/opendkim \
  /usr/sbin/nsd "$PY"; do
  [[ -x "$tool" ]] || die "no $tool (scripts/install-deps.sh --with-tests)"
done
"$PY" -c 'import dkim' 2>/dev/null || die "no dkimpy for $PY (apt-get install python3-dkim)"

# ---- build -------------------------------------------------------------------------------
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  say "configuring the release build"
  (cd "$REPO" && cmake --preset release >/dev/null)
fi
if [[ -z "${NO_BUILD:-}" ]]; then
  say "building sealpost, sealpost_mail_sink, sealpost_mail_enqueue (release)"
  ninja -C "$BUILD_DIR" sealpost sealpost_mail_sink sealpost_mail_enqueue >/dev/null
fi
SEALPOST="$BUILD_DIR/src/app/sealpost"
SINK="$BUILD_DIR/bench/sealpost_mail_sink"
ENQUEUE="$BUILD_DIR/bench/sealpost_mail_enqueue"
for b in "$SEALPOST" "$SINK" "$ENQUEUE"; do [[ -x "$b" ]] || die "no $b"; done

# ---- cleanup -----------------------------------------------------------------------------
TMP="$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sealpost-mail-bench.XXXXXX")"
RECORDS="$TMP/records"
chmod 755 "$TMP"  # NSD and Postfix's daemons (users nsd, postfix) pass through it
SINK_PID=""
SERVE_PID=""
DKIM_PIDS=()
POSTFIX_UP=""
SAMPLER_PID=""
PERF_PID=""
FEEDER_PID=""

stop_pid() {  # pid: TERM, wait up to 20 s, then KILL
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$FEEDER_PID"
  stop_pid "$PERF_PID"
  stop_pid "$SAMPLER_PID"
  stop_pid "$SERVE_PID"
  if [[ -n "$POSTFIX_UP" ]]; then
    /usr/sbin/postfix -c "$TMP/postfix/etc" stop >/dev/null 2>&1 || true
    for _ in $(seq 200); do
      [[ -e "$TMP/postfix/queue/pid/master.pid" ]] || break
      sleep 0.1
    done
  fi
  for p in "${DKIM_PIDS[@]}"; do stop_pid "$p"; done
  stop_pid "$SINK_PID"
  if [[ -n "$KEEP" ]]; then
    mkdir -p "$KEEP"
    cp -r "$TMP/serve.err" "$TMP/postfix/postfix.log" "$RECORDS" "$TMP/results" "$TMP/saved" \
      "$KEEP/" 2>/dev/null || true
  fi
  "$REPO/tests/support/dns.sh" stop "$TMP/dns" >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP/serve.err" "$TMP/postfix/postfix.log" "$TMP"/opendkim-*.err "$TMP/sink.err" \
      "$TMP/dns.log"; do
      [[ -s "$f" ]] && { echo "--- tail of $f" >&2; tail -n 15 "$f" >&2; }
    done
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # on every address given
  "$PY" - "$@" <<'PY'
import socket, sys
for _ in range(100):
    s = socket.socket(); s.bind((sys.argv[1], 0)); port = s.getsockname()[1]
    ok = True
    for h in sys.argv[2:]:
        t = socket.socket()
        try:
            t.bind((h, port))
        except OSError:
            ok = False
        t.close()
    s.close()
    if ok:
        print(port); break
PY
}
now_ns() { date +%s%N; }

# ---- sealpost data directory and DKIM keys -----------------------------------------------
say "making a sealpost data directory, DKIM keys, a test CA and the sink's certificate"
DATA="$TMP/data"
"$SEALPOST" init --data "$DATA" --hostname "forms.$ZONE" >/dev/null
"$SEALPOST" dkim init --data "$DATA" --domain "$ZONE" --selector "$SELECTOR" >"$TMP/dkim-init.out"
grep -E "^\S+\. IN TXT " "$TMP/dkim-init.out" >"$TMP/dkim-records"
[[ $(wc -l <"$TMP/dkim-records") -eq 2 ]] || die "dkim init printed no Ed25519 + RSA pair"

"$PY" - "$REPO/tests/lib" "$TMP/ca" "$MX" >"$TMP/ca.paths" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[1])
from testca import TestCA
os.makedirs(sys.argv[2])
ca = TestCA(sys.argv[2])
cert, key, chain = ca.leaf("mx", [sys.argv[3]])
print(ca.ca, key, chain)
PY
read -r CA_FILE SINK_KEY SINK_CHAIN <"$TMP/ca.paths"
case "$CA_BUNDLE" in
  system)
    [[ -r /etc/ssl/certs/ca-certificates.crt ]] || die "no /etc/ssl/certs/ca-certificates.crt"
    cat /etc/ssl/certs/ca-certificates.crt "$CA_FILE" >"$TMP/ca/bundle.pem"
    TRUST="$TMP/ca/bundle.pem"
    ;;
  test) TRUST="$CA_FILE" ;;
  *) die "CA_BUNDLE: system or test, not $CA_BUNDLE" ;;
esac
chmod -R a+rX "$TMP/ca"  # Postfix's smtp(8) runs as postfix and reads the CA file

# ---- DNS ---------------------------------------------------------------------------------
SINK_PORT="$(free_port "$SINK_ADDR")"
{
  echo "sink      MX 10 mx.sink"
  echo "mx.sink   A  $SINK_ADDR"
  cat "$TMP/dkim-records"
} >"$TMP/extra.zone"
"$REPO/tests/support/dns.sh" start "$TMP/dns" "$TMP/extra.zone" >"$TMP/dns.log" 2>&1 </dev/null ||
  die "dns.sh start failed"
RESOLVER="$(cat "$TMP/dns/resolver")"

# ---- the sink ----------------------------------------------------------------------------
mkdir -p "$TMP/saved"
"$SINK" --host "$SINK_ADDR" --port "$SINK_PORT" --cert "$SINK_CHAIN" --key "$SINK_KEY" \
  --name "$MX" --threads "$SINK_THREADS" --out "$RECORDS" --save-dir "$TMP/saved" \
  >"$TMP/sink.out" 2>"$TMP/sink.err" &
SINK_PID=$!
for _ in $(seq 100); do grep -q '^PORT ' "$TMP/sink.out" && break; sleep 0.1; done
grep -q "^PORT $SINK_PORT\$" "$TMP/sink.out" || die "the sink did not start"
say "sink (pid $SINK_PID, $SINK_THREADS threads) on $SINK_ADDR:$SINK_PORT; NSD on $RESOLVER"

# ---- sealpost settings -------------------------------------------------------------------
set_mail() {  # key value: under the [mail] header `sealpost init` wrote
  sed -i "/^\[mail\]\$/a $1 = $2" "$DATA/sealpost.toml"
}
set_mail hostname "\"forms.$ZONE\""
set_mail default_sender "\"$SENDER\""
set_mail dkim_selector "\"$SELECTOR\""
set_mail dkim_domain "\"$ZONE\""
set_mail resolver "\"$RESOLVER\""
set_mail trust_anchor_file "\"$TMP/dns/trust-anchor\""
set_mail remote_port "$SINK_PORT"
set_mail ca_file "\"$TRUST\""
set_mail default_policy '"verify"'
set_mail max_connections "$SEALPOST_MAX_CONNECTIONS"
set_mail max_per_domain "$SEALPOST_MAX_PER_DOMAIN"
if [[ -n "$SEALPOST_CRYPTO_THREADS" ]]; then
  sed -i "/^\[server\]\$/a crypto_threads = $SEALPOST_CRYPTO_THREADS" "$DATA/sealpost.toml"
  grep -q "^crypto_threads = $SEALPOST_CRYPTO_THREADS\$" "$DATA/sealpost.toml" ||
    die "no [server] table in sealpost.toml for crypto_threads"
fi

# ---- opendkim and the private Postfix ----------------------------------------------------
PF="$TMP/postfix"
mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
chown postfix:postfix "$PF/data"
INJECT_PORT="$(free_port "$POSTFIX_ADDR")"
# The same two keys sealpost signs with, so one set of DNS records verifies both. One
# opendkim per key: opendkim's signature algorithm is one setting for all its keys, and its
# KeyTable cannot give an Ed25519 key and an RSA key each their own.
start_opendkim() {  # name selector key-file algorithm -> DKIM_PIDS, DKIM_MILTERS
  local name="$1" selector="$2" key="$3" alg="$4" dir="$TMP/opendkim-$1"
  mkdir -p "$dir"
  chmod 755 "$dir"
  cp "$key" "$dir/key.pem"
  chmod 600 "$dir/key.pem"
  cat >"$dir/opendkim.conf" <<EOF
Syslog                 no
Mode                   s
Socket                 local:$dir/milter.sock
UMask                  000
PidFile                $dir/opendkim.pid
Domain                 $ZONE
Selector               $selector
KeyFile                $dir/key.pem
SignatureAlgorithm     $alg
Canonicalization       relaxed/relaxed
OversignHeaders        From
RequireSafeKeys        no
EOF
  /usr/sbin/opendkim -f -x "$dir/opendkim.conf" >"$dir/out" 2>"$TMP/opendkim-$name.err" &
  DKIM_PIDS+=($!)
  DKIM_MILTERS="${DKIM_MILTERS:+$DKIM_MILTERS, }unix:$dir/milter.sock"
}
DKIM_PIDS=()
DKIM_MILTERS=""
start_opendkim ed25519 "$SELECTOR" "$DATA/secrets/dkim-$SELECTOR.ed25519.pem" ed25519-sha256
start_opendkim rsa "$SELECTOR-rsa" "$DATA/secrets/dkim-$SELECTOR-rsa.rsa.pem" rsa-sha256

cat >"$PF/etc/main.cf" <<EOF
# Generated by bench/mail/run.sh: a private sending Postfix.
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = forms.$ZONE
mydomain = $ZONE
myorigin = $ZONE
mydestination =
# An interface address (127.0.0.42 is not one; master.cf binds smtpd to it). smtp(8)
# connects from it.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
maillog_file = $PF/postfix.log
maillog_file_prefixes = $TMP
# No DNS: the sink's address is the next hop; the certificate must name the MX host.
transport_maps = texthash:$PF/etc/transport
smtp_tls_security_level = verify
smtp_tls_policy_maps = texthash:$PF/etc/tls_policy
smtp_tls_CAfile = $TRUST
# DKIM: opendkim signs at enqueue (cleanup); a milter that fails holds the mail back.
smtpd_milters = $DKIM_MILTERS
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
EOF
cat >"$PF/etc/master.cf" <<EOF
$POSTFIX_ADDR:$INJECT_PORT inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
echo "$DOMAIN smtp:[$SINK_ADDR]:$SINK_PORT" >"$PF/etc/transport"
echo "[$SINK_ADDR]:$SINK_PORT verify match=$MX" >"$PF/etc/tls_policy"
echo '/^Subject: bench pf-drain / HOLD' >"$PF/etc/hold.regexp"
postconf_() { /usr/sbin/postconf -c "$PF/etc" "$@" >/dev/null; }
postconf_ -e "header_checks = regexp:$PF/etc/hold.regexp"
/usr/sbin/postfix -c "$PF/etc" check >"$TMP/postfix-check.out" 2>&1 ||
  { cat "$TMP/postfix-check.out" >&2; die "postfix check failed"; }
/usr/sbin/postfix -c "$PF/etc" start >"$TMP/postfix-start.out" 2>&1 ||
  { cat "$TMP/postfix-start.out" >&2; die "postfix start failed"; }
POSTFIX_UP=1
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/$POSTFIX_ADDR/$INJECT_PORT") 2>/dev/null && break
  sleep 0.2
done
POSTFIX_MASTER="$(tr -d ' ' <"$PF/queue/pid/master.pid")"
for p in "${DKIM_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || die "opendkim exited: $(cat "$TMP"/opendkim-*.err)"; done
say "Postfix $(/usr/sbin/postconf -d -h mail_version) (master $POSTFIX_MASTER) on $POSTFIX_ADDR:$INJECT_PORT; opendkim (pids ${DKIM_PIDS[*]})"

# ---- measuring ---------------------------------------------------------------------------
RESULTS="$TMP/results"
: >"$RESULTS"
TICKS="$(getconf CLK_TCK)"
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_stat() { head -1 /proc/stat; }
idle_pct() {  # "stat line" "stat line": share of the whole machine left idle in between
  printf '%s\n%s\n' "$1" "$2" | awk '
    { total[NR] = 0; for (i = 2; i <= NF; i++) total[NR] += $i; idle[NR] = $5 + $6 }
    END { printf "%.0f", 100 * (idle[2] - idle[1]) / (total[2] - total[1]) }'
}
# Records of a label at the sink (cheap: the poll must not take CPU from the senders), and
# distinct messages (a message sent twice counts once: its stamp).
records_of() { grep -c "^RECORD $1 " "$RECORDS" 2>/dev/null || true; }
distinct_of() { awk -v l="$1" '$1 == "RECORD" && $2 == l && !seen[$3]++ { n++ } END { print n + 0 }' "$RECORDS"; }

start_sampler() {  # root pids...
  local args=() p
  for p in "$@"; do args+=(--root "$p"); done
  "$PY" "$REPO/bench/mail/procstat.py" "${args[@]}" >"$TMP/procstat.out" &
  SAMPLER_PID=$!
}
stop_sampler() {  # -> SAMPLED, the PROCSTAT line's fields (not in a $(...): it waits)
  kill -TERM "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
  SAMPLED="$(sed -n 's/^PROCSTAT //p' "$TMP/procstat.out")"
}

# wait_for label count log pattern: until the sink has `count` distinct messages of the
# label; dies on timeout, or when the sender's log gets a line matching `pattern` (a
# failed delivery). Polls twice a second and reads only what is new in the log: the
# sender's end time is the sink's last arrival, so the poll only has to be cheap.
wait_for() {
  local label="$1" count="$2" log="$3" pattern="$4" deadline=$((SECONDS + TIMEOUT)) n=0
  local last_say=$SECONDS offset size
  offset="$(stat -c %s "$log" 2>/dev/null || echo 0)"
  while :; do
    n="$(records_of "$label")"
    if ((n >= count)); then
      n="$(distinct_of "$label")"
      ((n >= count)) && return 0
    fi
    ((SECONDS > deadline)) && die "$label: $n of $count arrived in ${TIMEOUT}s"
    size="$(stat -c %s "$log" 2>/dev/null || echo 0)"
    if ((size > offset)); then
      tail -c +$((offset + 1)) "$log" | head -c $((size - offset)) | grep -q "$pattern" &&
        die "$label: a delivery failed (see the log tail)"
      offset=$size
    fi
    if ((SECONDS - last_say >= 10)); then
      say "  $label: $n of $count"
      last_say=$SECONDS
    fi
    sleep 0.5
  done
}
SEALPOST_FAILED='event=mail_attempt .*result=\(deferred\|bounced\|dropped\|awaiting_fallback\)'
POSTFIX_FAILED='status=\(deferred\|bounced\)'

start_serve() {
  "$SEALPOST" serve --data "$DATA" --https-listen 127.0.0.1:0 --http-listen "" --admin-listen "" \
    >"$TMP/serve.out" 2>>"$TMP/serve.err" &
  SERVE_PID=$!
}

# result label mode sender t0_ns procstat sink_ticks stat0 stat1 feeder_line extra...
result() {
  local label="$1" mode="$2" sender="$3" t0="$4" ps="$5" sink_t="$6" s0="$7" s1="$8" feeder="$9"
  shift 9
  local stats pct
  # Per message: time in queue = arrival - max(enqueue stamp, t0), in ms, sorted (mawk has
  # no sort of its own).
  pct="$(awk -v l="$label" -v t0="$t0" '$1 == "RECORD" && $2 == l && !seen[$3]++ {
      s = ($3 > t0 ? $3 : t0); printf "%.3f\n", ($4 - s) / 1e6 }' "$RECORDS" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) printf "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f",
      v[int(0.50 * (NR - 1)) + 1], v[int(0.99 * (NR - 1)) + 1], v[NR] }')"
  stats="$(awk -v l="$label" -v t0="$t0" '
    $1 == "RECORD" && $2 == l && seen[$3]++ { dup++ }
    $1 == "RECORD" && $2 == l && seen[$3] == 1 {
      n++; if ($4 > last) last = $4
      conn[$5] = 1; if ($7 > peak) peak = $7
      if (n == 1 || $8 < min_sig) min_sig = $8; if ($8 > max_sig) max_sig = $8
      tls[$9]++
    }
    END {
      if (n == 0) { print "messages=0"; exit }
      c = 0; for (k in conn) c++
      t = ""; for (k in tls) t = t (t == "" ? "" : ",") k ":" tls[k]
      printf "messages=%d duplicates=%d seconds=%.3f rate=%.1f connections=%d peak_open=%d dkim_sigs=%s-%s tls=%s\n",
        n, dup, (last - t0) / 1e9, n / ((last - t0) / 1e9), c, peak, min_sig, max_sig, t
    }' "$RECORDS") $pct"
  echo "label=$label mode=$mode sender=$sender $stats $ps sink_cpu_seconds=$(awk -v t="$sink_t" -v hz="$TICKS" 'BEGIN { printf "%.2f", t / hz }') idle_pct=$(idle_pct "$s0" "$s1") $feeder $*" >>"$RESULTS"
}

run_sealpost() {  # mode
  local mode="$1" label="sp-$1" t0 s0 s1 k0 k1 feeder ps hwm startup=""
  if [[ "$mode" == drain ]]; then
    say "sealpost, drain: enqueueing $COUNT messages into the stopped node's queue"
    feeder="$("$ENQUEUE" --data "$DATA" --count "$COUNT" --to "$RCPT" --label "$label" \
      --body-bytes "$BODY_BYTES" | sed -n 's/^ENQUEUED //p')"
    say "  $feeder"
    s0="$(machine_stat)"; k0="$(proc_ticks "$SINK_PID")"
    t0="$(now_ns)"
    start_serve
    start_sampler "$SERVE_PID"
    if [[ -n "$PERF_OUT" ]] && command -v perf >/dev/null; then
      perf record -q --call-graph dwarf,16384 -F 299 -p "$SERVE_PID" -o "$TMP/perf.data" \
        >/dev/null 2>&1 &
      PERF_PID=$!
    fi
    for _ in $(seq 300); do
      grep -q '^listening ' "$TMP/serve.out" && break
      sleep 0.05
    done
    startup="serve_startup_ms=$((($(now_ns) - t0) / 1000000))"
    wait_for "$label" "$COUNT" "$TMP/serve.err" "$SEALPOST_FAILED"
  else
    say "sealpost, live: enqueueing $COUNT messages while serve runs"
    [[ -n "$SERVE_PID" ]] || { start_serve; sleep 1; }
    echo 5 >"/proc/$SERVE_PID/clear_refs"  # VmHWM from here on
    s0="$(machine_stat)"; k0="$(proc_ticks "$SINK_PID")"
    start_sampler "$SERVE_PID"
    t0="$(now_ns)"
    "$ENQUEUE" --data "$DATA" --count "$COUNT" --to "$RCPT" --label "$label" \
      --body-bytes "$BODY_BYTES" >"$TMP/enqueue.out" &
    FEEDER_PID=$!
    wait_for "$label" "$COUNT" "$TMP/serve.err" "$SEALPOST_FAILED"
    wait "$FEEDER_PID"
    FEEDER_PID=""
    feeder="$(sed -n 's/^ENQUEUED //p' "$TMP/enqueue.out")"
  fi
  s1="$(machine_stat)"; k1="$(proc_ticks "$SINK_PID")"
  hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVE_PID/status")"
  if [[ -n "$PERF_PID" ]]; then
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
    {
      echo "# sealpost serve during the drain of $COUNT messages: by shared object; by symbol"
      echo "# with its callees (inclusive); by symbol alone (exclusive)"
      perf report -i "$TMP/perf.data" --no-children --stdio -g none --sort dso --percent-limit 0.5
      perf report -i "$TMP/perf.data" --children --stdio -g none --sort sym --percent-limit 0.5
      perf report -i "$TMP/perf.data" --no-children --stdio -g none --sort dso,sym --percent-limit 0.4
    } >"$PERF_OUT" 2>/dev/null || true
    say "  perf report written to $PERF_OUT"
  fi
  stop_sampler
  ps="$SAMPLED"
  # The enqueuer does in its own process what an API inside serve would: count it.
  result "$label" "$mode" sealpost "$t0" "$ps" $((k1 - k0)) "$s0" "$s1" \
    "feeder=${feeder// /,}" "serve_vmhwm_kib=$hwm" \
    "enqueue_cpu_seconds=$(printf '%s\n' "$feeder" | sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p')" $startup
}

run_postfix() {  # mode
  local mode="$1" label="pf-$1" t0 s0 s1 k0 k1 feeder ps enq_cpu=0
  if [[ "$mode" == drain ]]; then
    say "Postfix, drain: injecting $COUNT messages, held (header_checks HOLD)"
    start_sampler "$POSTFIX_MASTER" "${DKIM_PIDS[@]}"  # what Postfix spends taking them in
    feeder="$("$PY" "$REPO/bench/mail/inject.py" --host "$POSTFIX_ADDR" --port "$INJECT_PORT" \
      --count "$COUNT" --sender "$SENDER" --to "$RCPT" --label "$label" \
      --body-bytes "$BODY_BYTES" --connections "$INJECT_CONNECTIONS" | sed -n 's/^INJECTED //p')"
    stop_sampler
    enq_cpu="$(printf '%s\n' "$SAMPLED" | sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p')"
    say "  $feeder; Postfix and opendkim CPU while taking them in: ${enq_cpu}s"
    local held
    held="$(find "$PF/queue/hold" -type f | wc -l)"
    [[ "$held" -eq "$COUNT" ]] || die "Postfix holds $held messages, not $COUNT"
    s0="$(machine_stat)"; k0="$(proc_ticks "$SINK_PID")"
    start_sampler "$POSTFIX_MASTER" "${DKIM_PIDS[@]}"
    t0="$(now_ns)"
    /usr/sbin/postsuper -c "$PF/etc" -H ALL 2>/dev/null
    /usr/sbin/postqueue -c "$PF/etc" -f
    wait_for "$label" "$COUNT" "$PF/postfix.log" "$POSTFIX_FAILED"
  else
    say "Postfix, live: injecting $COUNT messages while it delivers"
    s0="$(machine_stat)"; k0="$(proc_ticks "$SINK_PID")"
    start_sampler "$POSTFIX_MASTER" "${DKIM_PIDS[@]}"
    t0="$(now_ns)"
    "$PY" "$REPO/bench/mail/inject.py" --host "$POSTFIX_ADDR" --port "$INJECT_PORT" \
      --count "$COUNT" --sender "$SENDER" --to "$RCPT" --label "$label" \
      --body-bytes "$BODY_BYTES" --connections "$INJECT_CONNECTIONS" >"$TMP/inject.out" &
    FEEDER_PID=$!
    wait_for "$label" "$COUNT" "$PF/postfix.log" "$POSTFIX_FAILED"
    wait "$FEEDER_PID"
    FEEDER_PID=""
    feeder="$(sed -n 's/^INJECTED //p' "$TMP/inject.out")"
  fi
  s1="$(machine_stat)"; k1="$(proc_ticks "$SINK_PID")"
  stop_sampler
  ps="$SAMPLED"
  # live: taking messages in happens in the window, inside cpu_seconds.
  result "$label" "$mode" postfix "$t0" "$ps" $((k1 - k0)) "$s0" "$s1" "feeder=${feeder// /,}" \
    "enqueue_cpu_seconds=$enq_cpu"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
say "load average before the runs: $LOAD_BEFORE (anything else running shares the cores)"
for mode in $MODES; do
  case "$mode" in
    drain | live) ;;
    *) die "MODES: drain and/or live, not $mode" ;;
  esac
  [[ " $SENDERS " == *" sealpost "* ]] && run_sealpost "$mode"
  [[ " $SENDERS " == *" postfix "* ]] && run_postfix "$mode"
done

# ---- DKIM: the first message of each run, checked with dkimpy against the published keys
DKIM_CHECK="$("$PY" - "$TMP/dkim-records" "$TMP/saved" <<'PY'
import glob, os, re, sys
import dkim
records = {}
for line in open(sys.argv[1]):
    name, strings = re.match(r"^(\S+) IN TXT (.+)$", line).groups()
    records[name.encode()] = "".join(re.findall(r'"([^"]*)"', strings)).encode()
dns = lambda name, timeout=5: records.get(name.rstrip(b".") + b".")
out = []
for path in sorted(glob.glob(os.path.join(sys.argv[2], "*.eml"))):
    msg = open(path, "rb").read()
    d = dkim.DKIM(msg)
    sigs = [l for l in msg.split(b"\r\n\r\n")[0].split(b"\r\n") if l.lower().startswith(b"dkim-signature:")]
    ok = [d.verify(idx=i, dnsfunc=dns) for i in range(len(sigs))]
    algs = [re.search(rb"a=([a-z0-9-]+)", s + b" ").group(1).decode() if re.search(rb"a=([a-z0-9-]+)", s) else "?" for s in sigs]
    out.append(f"{os.path.basename(path)[:-4]}: " + ", ".join(f"{a} {'pass' if v else 'FAIL'}" for a, v in zip(algs, ok)))
print("; ".join(out))
PY
)"

# ---- report ------------------------------------------------------------------------------
echo
echo "outbound mail: $COUNT messages of ${BODY_BYTES}-byte bodies per sender and mode, one recipient each, to one domain; $(nproc) cores"
echo "trust: $([[ $CA_BUNDLE == system ]] && echo "Debian's CA bundle + the test CA ($(grep -c 'BEGIN CERTIFICATE' "$TRUST") certificates)" || echo "the test CA alone"), for both"
echo "sealpost: max_connections $SEALPOST_MAX_CONNECTIONS, max_per_domain $SEALPOST_MAX_PER_DOMAIN, crypto_threads ${SEALPOST_CRYPTO_THREADS:-default ($(nproc))}; Postfix $(/usr/sbin/postconf -d -h mail_version): defaults (destination concurrency $(/usr/sbin/postconf -c "$PF/etc" -h default_destination_concurrency_limit), connection cache on demand $(/usr/sbin/postconf -c "$PF/etc" -h smtp_connection_cache_on_demand))"
echo "load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  function f(line, key,   re) { re = " " key "=[^ ]*"; if (match(" " line, re)) return substr(" " line, RSTART + length(key) + 2, RLENGTH - length(key) - 2); return "" }
  {
    k = f($0, "sender") SUBSEP f($0, "mode")
    rate[k] = f($0, "rate"); p50[k] = f($0, "p50_ms"); p99[k] = f($0, "p99_ms")
    pss[k] = f($0, "peak_pss_kib"); rss[k] = f($0, "peak_rss_kib"); hwm[k] = f($0, "hwm_sum_kib")
    cpu[k] = f($0, "cpu_seconds"); n[k] = f($0, "messages"); conns[k] = f($0, "connections")
    peak[k] = f($0, "peak_open"); sink[k] = f($0, "sink_cpu_seconds"); idle[k] = f($0, "idle_pct")
    secs[k] = f($0, "seconds"); sigs[k] = f($0, "dkim_sigs"); procs[k] = f($0, "max_alive")
    enq[k] = f($0, "enqueue_cpu_seconds"); dup[k] = f($0, "duplicates")
  }
  END {
    printf "%-9s %-6s %8s %9s %9s %8s %8s %7s %7s %7s %7s %6s %6s %5s %8s %5s %5s %5s\n", "sender", "mode", "msg/s", "p50 ms", "p99 ms", "RSS MiB", "PSS MiB", "enq ms", "send ms", "all ms", "sink %", "idle%", "conns", "open", "msg/conn", "procs", "DKIM", "dups"
    split("drain live", modes, " "); split("sealpost postfix", senders, " ")
    for (i = 1; i <= 2; i++) for (j = 1; j <= 2; j++) {
      k = senders[j] SUBSEP modes[i]
      if (!(k in rate)) continue
      all[k] = 1000 * (cpu[k] + enq[k]) / n[k]
      printf "%-9s %-6s %8.1f %9.1f %9.1f %8.1f %8.1f %7s %7.2f %7.2f %6.0f%% %5s%% %6d %5d %8.1f %5d %5s %5d\n", senders[j], modes[i], rate[k], p50[k], p99[k], rss[k] / 1024, pss[k] / 1024, (enq[k] > 0 ? sprintf("%.2f", 1000 * enq[k] / n[k]) : "-"), 1000 * cpu[k] / n[k], all[k], 100 * sink[k] / secs[k], idle[k], conns[k], peak[k], n[k] / conns[k], procs[k], sigs[k], dup[k]
    }
    print ""
    for (i = 1; i <= 2; i++) {
      a = "sealpost" SUBSEP modes[i]; b = "postfix" SUBSEP modes[i]
      if (!(a in rate) || !(b in rate)) continue
      printf "ratio sealpost/Postfix, %-5s: throughput %.2f   p50 %.2fx   p99 %.2fx   peak RSS %.2fx   peak PSS %.2fx   CPU per message (all) %.2fx\n", modes[i], rate[a] / rate[b], p50[a] / p50[b], p99[a] / p99[b], rss[a] / rss[b], pss[a] / pss[b], all[a] / all[b]
    }
  }' "$RESULTS"
echo
echo "time in queue: drain, from the release (serve started / postsuper -H) to arrival at the sink;"
echo "  live, from the enqueue stamp to arrival. RSS, PSS: highest sampled sum over the sender's"
echo "  processes (sealpost: serve alone; Postfix: master, its children and the two opendkim)."
echo "  CPU per message: enq = putting it in the queue (sealpost: sealpost_mail_enqueue's process;"
echo "  Postfix: its processes and opendkim while inject.py fed it; in live that is inside send);"
echo "  send = the sender's processes in the window (sealpost: serve); all = enq + send."
echo "  sink %: the sink's CPU, % of one core; idle%: of the whole machine; conns: TCP connections"
echo "  the sink accepted; open: most sessions open at once; DKIM: signatures per message (min-max);"
echo "  dups: messages the sink received more than once (counted once in msg/s and the times)."
echo "DNS: sealpost looks up MX, A and TLSA (DNSSEC-validated, cached by libunbound) per attempt;"
echo "  Postfix does none (transport_maps names [$SINK_ADDR]:$SINK_PORT; TLS 'verify match=$MX')."
echo "DKIM check of the first message of each run (dkimpy): $DKIM_CHECK"
echo
sed 's/^/  /' "$RESULTS"
