#!/usr/bin/env bash
# Benchmark: sealpost against nginx serving the same page, browser-like and keep-alive.
#
#   bench/run.sh
#
# Environment (all optional):
#   CONNECTIONS=16  DURATION=20  WARMUP=3   load generator settings, the same for both
#   BUILD_DIR=build/release                 where the release build lives (built if needed)
#   NO_BUILD=1                              use the existing build as it is
#   NGINX=/usr/sbin/nginx                   the nginx binary (Debian package nginx-light)
#   BENCH_TMPDIR=/tmp                       parent of the temporary directory; keep it on a
#                                           real disk, not tmpfs, or fsync costs nothing
#
# It makes a throw-away sealpost data directory exactly as the demo does (a GnuPG
# recipient key, examples/intake.toml, rate limits raised to their maximum so the load
# generator, which comes from one address, is not throttled), starts `sealpost serve`,
# saves the rendered form and thanks pages as static files, starts nginx with the same
# certificate and TLS settings (POST answered by `return 303`), runs sealpost_loadgen
# against both, and prints a table. Figures are printed, never asserted: this is not a test.
# Everything it starts is stopped, and its temporary directory removed, on any exit.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build/release}"
CONNECTIONS="${CONNECTIONS:-16}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
NGINX="${NGINX:-/usr/sbin/nginx}"
SERVER_CORES="$(nproc)"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

# ---- build -------------------------------------------------------------------------------
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  say "configuring the release build"
  (cd "$REPO" && cmake --preset release >/dev/null)
fi
if [[ -z "${NO_BUILD:-}" ]]; then
  say "building sealpost and sealpost_loadgen (release)"
  ninja -C "$BUILD_DIR" -j"$SERVER_CORES" sealpost sealpost_loadgen >/dev/null
fi
SEALPOST="$BUILD_DIR/src/app/sealpost"
LOADGEN="$BUILD_DIR/bench/sealpost_loadgen"
[[ -x "$SEALPOST" && -x "$LOADGEN" ]] || die "the build did not produce sealpost and sealpost_loadgen"
[[ -x "$NGINX" ]] || die "no nginx at $NGINX (apt-get install nginx-light)"

# ---- cleanup -----------------------------------------------------------------------------
TMP="$(mktemp -d "${BENCH_TMPDIR:-/tmp}/sealpost-bench.XXXXXX")"
SEALPOST_PID=""
NGINX_PID=""
export GNUPGHOME="$TMP/gnupg"

stop_pid() {  # pid: TERM, wait up to 10 s, then KILL
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$SEALPOST_PID"
  stop_pid "$NGINX_PID"
  gpgconf --kill all >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP/serve.err" "$TMP/nginx/error.log"; do
      [[ -s "$f" ]] && { echo "--- tail of $f" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- sealpost data directory, as the demo makes it ---------------------------------------
DATA="$TMP/data"
say "making a data directory in $TMP"
mkdir -m 700 "$GNUPGHOME"
gpg_() { gpg --batch --yes --pinentry-mode loopback --passphrase '' "$@"; }
gpg_ --quick-gen-key "Bench Recipient <bench@example.org>" future-default default never 2>/dev/null
FPR="$(gpg_ --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')"
[[ ${#FPR} -eq 40 ]] || die "gpg made no key"
gpg_ --armor --export "$FPR" >"$TMP/recipient.asc"

"$SEALPOST" init --data "$DATA" --hostname localhost >/dev/null
"$SEALPOST" key import --data "$DATA" "$TMP/recipient.asc" >/dev/null
sed "s/@DEMO_RECIPIENT_FINGERPRINT@/$FPR/" "$REPO/examples/intake.toml" >"$TMP/intake.toml"
"$SEALPOST" form add --data "$DATA" "$TMP/intake.toml" >/dev/null

# The load generator is one client address: raise the rate limits to their upper bounds
# (app/config.cpp), under the [rate_limit] table that `sealpost init` wrote.
grep -q '^\[rate_limit\]' "$DATA/sealpost.toml" || printf '\n[rate_limit]\n' >>"$DATA/sealpost.toml"
sed -i '/^\[rate_limit\]/a per_ip_per_minute = 100000\nper_ip_burst = 100000\nper_form_per_minute = 10000000\nper_form_burst = 1000000' \
  "$DATA/sealpost.toml"

# ---- start sealpost ----------------------------------------------------------------------
"$SEALPOST" serve --data "$DATA" --https-listen 127.0.0.1:0 --http-listen "" --admin-listen "" \
  >"$TMP/serve.out" 2>"$TMP/serve.err" &
SEALPOST_PID=$!
SEALPOST_PORT=""
for _ in $(seq 600); do
  SEALPOST_PORT="$(sed -n 's/^listening https [^ ]*:\([0-9]*\)$/\1/p' "$TMP/serve.out")"
  [[ -n "$SEALPOST_PORT" ]] && break
  kill -0 "$SEALPOST_PID" 2>/dev/null || die "sealpost serve exited before listening"
  sleep 0.1
done
[[ -n "$SEALPOST_PORT" ]] || die "sealpost serve did not print its port"
say "sealpost (pid $SEALPOST_PID) on 127.0.0.1:$SEALPOST_PORT"

# ---- the static copies for nginx: the rendered form and, after one real submission, the
# thanks page, with the same security headers sealpost sends ------------------------------
WWW="$TMP/www"
mkdir -p "$WWW"
ORIGIN="https://127.0.0.1:$SEALPOST_PORT"
curl -sSk -D "$TMP/form.headers" -o "$WWW/intake.html" "$ORIGIN/f/intake"
TOKEN="$(grep -o 'name="_token" value="[^"]*"' "$WWW/intake.html" | sed 's/.*value="//; s/"$//')"
[[ -n "$TOKEN" ]] || die "no token in the rendered form"
LOCATION="$(curl -sSk -o /dev/null -w '%{http_code} %{redirect_url}' \
  --data-urlencode "_token=$TOKEN" --data-urlencode "_website=" \
  --data-urlencode "full_name=Jürgen Doe" --data-urlencode "date_of_birth=1980-02-03" \
  --data-urlencode "email=j@example.org" --data-urlencode "phone=+1 202 555 0143" \
  --data-urlencode "visit_reason=new" --data-urlencode "allergies=none" \
  --data-urlencode "pain_level=3" --data-urlencode "contact_methods=email" \
  --data-urlencode "contact_methods=phone" --data-urlencode "preferred_time=morning" \
  --data-urlencode "privacy_consent=yes" --data-urlencode "signature=Jürgen Doe" \
  "$ORIGIN/f/intake")"
[[ "$LOCATION" == "303 "* ]] || die "the smoke submission was not answered 303 (got: $LOCATION)"
curl -sSk -o "$WWW/thanks.html" "${LOCATION#303 }"
# Security headers (not the per-response ones) for nginx's add_header.
ADD_HEADERS="$(tr -d '\r' <"$TMP/form.headers" | awk -F': ' 'NR > 1 && NF >= 2 {
  name = tolower($1)
  if (name ~ /^(date|content-length|content-type|connection|keep-alive|server)$/) next
  value = substr($0, length($1) + 3); gsub(/"/, "\\\"", value)
  printf "    add_header %s \"%s\" always;\n", $1, value }')"

# ---- nginx with the same TLS settings (http/tls_context.hpp) -----------------------------
NGINX_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$TMP/nginx"
# Run as root, nginx would switch its workers to "nobody", who cannot read the temporary
# directory: keep them as the current user.
NGINX_USER=""
[[ $EUID -eq 0 ]] && NGINX_USER="user $(id -un) $(id -gn);"
cat >"$TMP/nginx/nginx.conf" <<EOF
# Generated by bench/run.sh. A static stand-in for sealpost: same page, same TLS policy.
worker_processes $SERVER_CORES;   # sealpost runs one event-loop thread per core
$NGINX_USER
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;                 # sealpost logs no line per successful request either
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  default_type text/html;
  charset utf-8;
  server_tokens off;
  keepalive_requests 1000;        # sealpost: max_requests_per_connection
  keepalive_timeout 30s;          # sealpost: request_timeout_seconds
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $DATA/tls/cert.pem;
    ssl_certificate_key $DATA/tls/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    ssl_prefer_server_ciphers on;
    ssl_session_tickets off;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    root $WWW;
$ADD_HEADERS
    location = /f/intake {
      if (\$request_method = POST) { return 303 /f/intake/thanks/0000-0000-0000; }
      try_files /intake.html =404;
    }
    location = /f/intake/thanks/0000-0000-0000 { try_files /thanks.html =404; }
  }
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -t -q 2>"$TMP/nginx/test.err" ||
  { cat "$TMP/nginx/test.err" >&2; die "nginx refused the configuration"; }
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>>"$TMP/nginx/error.log" &
NGINX_PID=$!
for _ in $(seq 100); do
  curl -sk -o /dev/null "https://127.0.0.1:$NGINX_PORT/f/intake" && break
  kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited"
  sleep 0.1
done
say "nginx (pid $NGINX_PID, $SERVER_CORES workers) on 127.0.0.1:$NGINX_PORT"

# ---- measuring ---------------------------------------------------------------------------
server_pids() {  # pid -> that process and its children (nginx workers)
  echo "$1"
  ps --ppid "$1" -o pid= 2>/dev/null || true
}
# Resets the peak-RSS counters (VmHWM) so each run reports its own peak.
reset_peak_rss() {
  local p
  for p in $(server_pids "$1"); do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done
}
peak_rss_kib() {  # sum of VmHWM over the process and its children
  local p total=0 v
  for p in $(server_pids "$1"); do
    v="$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)"
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
cpu_ticks() {  # utime + stime of the process and its children, in clock ticks
  local p total=0 v
  for p in $(server_pids "$1"); do
    v="$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true)"
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
TICKS="$(getconf CLK_TCK)"
RESULTS="$TMP/results"
: >"$RESULTS"

run_one() {  # server pid port mode
  local server="$1" pid="$2" port="$3" mode="$4" flag="" out cpu0 cpu1
  [[ "$mode" == keep-alive ]] && flag="--keep-alive"
  say "$server, $mode: $CONNECTIONS connections, ${WARMUP}s warmup + ${DURATION}s"
  reset_peak_rss "$pid"
  local stat0 stat1
  stat0="$(head -1 /proc/stat)"
  cpu0="$(cpu_ticks "$pid")"
  out="$("$LOADGEN" --host 127.0.0.1 --port "$port" --path /f/intake --name "$server" \
    --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" $flag)"
  cpu1="$(cpu_ticks "$pid")"
  stat1="$(head -1 /proc/stat)"
  printf '%s\n' "$out" | grep -v '^RESULT ' | sed 's/^/   /' >&2
  local result rss cpu
  result="$(printf '%s\n' "$out" | grep '^RESULT ')"
  rss="$(peak_rss_kib "$pid")"
  cpu="$(awk -v t=$((cpu1 - cpu0)) -v hz="$TICKS" -v s="$(awk -v a="$WARMUP" -v b="$DURATION" 'BEGIN { print a + b }')" \
    'BEGIN { printf "%.0f", 100 * t / hz / s }')"
  # Share of the machine left idle during the run (all cores): near 0 means CPU-bound.
  local idle
  idle="$(printf '%s\n%s\n' "$stat0" "$stat1" | awk '
    { total[NR] = 0; for (i = 2; i <= NF; i++) total[NR] += $i; idle[NR] = $5 + $6 }
    END { printf "%.0f", 100 * (idle[2] - idle[1]) / (total[2] - total[1]) }')"
  echo "$result server=$server peak_rss_kib=$rss server_cpu_pct=$cpu machine_idle_pct=$idle" >>"$RESULTS"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
say "load average before the runs: $LOAD_BEFORE (anything else running shares the cores)"
for mode in browser keep-alive; do
  run_one sealpost "$SEALPOST_PID" "$SEALPOST_PORT" "$mode"
  run_one nginx "$NGINX_PID" "$NGINX_PORT" "$mode"
done

STORED="$("$SEALPOST" form list --data "$DATA")"

# ---- report ------------------------------------------------------------------------------
echo
echo "sealpost vs nginx, $CONNECTIONS connections, ${DURATION}s per run (+${WARMUP}s warmup), $(nproc) cores"
awk '
  function field(line, key,   re, m) {
    re = " " key "=[^ ]*"
    if (match(" " line, re)) return substr(" " line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
    return ""
  }
  {
    s = field($0, "server"); m = field($0, "mode")
    rate[s, m] = field($0, "subs_per_s"); p50[s, m] = field($0, "p50_ms")
    p99[s, m] = field($0, "p99_ms"); rss[s, m] = field($0, "peak_rss_kib")
    err[s, m] = field($0, "errors"); cpu[s, m] = field($0, "server_cpu_pct")
    idle[s, m] = field($0, "machine_idle_pct")
    lcpu[s, m] = field($0, "loadgen_cpu_s") / field($0, "duration_s") * 100
  }
  END {
    printf "%-9s %-11s %10s %9s %9s %12s %8s %11s %9s %7s\n", "server", "mode", "subs/s", "p50 ms", "p99 ms", "peak RSS MiB", "srv CPU", "loadgen CPU", "idle CPU", "errors"
    split("browser keep-alive", modes, " ")
    for (i = 1; i <= 2; i++) {
      m = modes[i]
      split("sealpost nginx", servers, " ")
      for (j = 1; j <= 2; j++) {
        s = servers[j]
        printf "%-9s %-11s %10.1f %9.2f %9.2f %12.1f %7s%% %10.0f%% %8s%% %7s\n", s, m, rate[s, m], p50[s, m], p99[s, m], rss[s, m] / 1024, cpu[s, m], lcpu[s, m], idle[s, m], err[s, m]
      }
    }
    print ""
    for (i = 1; i <= 2; i++) {
      m = modes[i]
      if (rate["nginx", m] > 0)
        printf "ratio sealpost/nginx, %-10s: %.2f (throughput)   p50 %.1fx   p99 %.1fx   peak RSS %.1fx\n", m, rate["sealpost", m] / rate["nginx", m], p50["sealpost", m] / p50["nginx", m], p99["sealpost", m] / p99["nginx", m], rss["sealpost", m] / rss["nginx", m]
    }
  }' "$RESULTS"
echo
echo "stored in sealpost (sealpost form list): $STORED"
echo "load average before the runs: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(srv CPU, loadgen CPU: % of one core; idle CPU: % of the whole machine ($(nproc) cores) left idle)"
echo
sed 's/^/  /' "$RESULTS"
