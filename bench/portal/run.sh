#!/usr/bin/env bash
# Benchmark of the staff portal (issue 3): how fast a staff member's browser decrypts and
# exports a form's submissions, with how much memory, and how fast the server hands out the
# ciphertext, against nginx serving the same bytes.
#
#   bench/portal/run.sh                          # N = 10000, then 100000 (~12 min, 2 cores)
#   COUNTS=2000 bench/portal/run.sh              # a quick look
#
# Environment (all optional):
#   COUNTS=10000,100000      submissions to export; increasing, the form is filled up to each
#   CONNECTIONS=1,4,16,64    wrk connection counts for the server part
#   DURATION=10 WARMUP=2     seconds per wrk run, and unmeasured seconds before each
#   FILL_CONNECTIONS=16      sealpost_loadgen connections while filling the form
#   SKIP_SERVER=1            browser part only;  SKIP_BROWSER=1: server part only
#   BUILD_DIR=build/release  NO_BUILD=1 (use the build as it is)  NO_INSTALL=1 (no apt/npm)
#   NGINX=/usr/sbin/nginx    BENCH_TMPDIR=/tmp (keep it on a real disk: fsync must cost)
#   RESULTS_JSON=path        also write every figure, raw, as JSON
#
# What it does (bench/portal/bench.py has the details):
#   1. a throw-away data directory (tests/lib/harness.py: gpg recipient, examples/intake.toml,
#      rate limits at their maxima because all the load comes from one address), the real
#      `sealpost serve` on 127.0.0.1 (release build);
#   2. an admin and a staff member added with `sealpost user add`, enrolled through the API
#      (password, TOTP computed here, a gpg-made key protected by a passphrase: the browser
#      later unlocks it), and the admin grants the staff member the intake form;
#   3. for each N: the form is filled to exactly N submissions through the public form
#      (bench/sealpost_loadgen --total); then
#      - server: wrk, with the staff member's session cookie and X-CSRF-Token, against
#        GET /portal/api/forms/intake/submissions?limit=100 and .../export?limit=500, and
#        against nginx serving a static copy of each answer with the same TLS settings;
#      - browser: Debian's Chromium, driven over a bare DevTools pipe (browser_export.mjs says
#        why not Playwright: it would make the tab keep every response body), signs in through
#        the sign-in page, unlocks the key, clicks Export (CSV), and the file must have exactly
#        N rows with N distinct references, or the run fails. Time from click to finished
#        download, and peak memory of the page's and the worker's JS heaps and of Chromium's
#        processes.
#   4. prints markdown tables. Figures are printed, never asserted.
# Everything it starts is stopped, and its temporary directory removed, on any exit.
# Installs (unless NO_INSTALL=1): apt wrk nginx-light chromium gnupg curl python3 procps;
# npm ci in tests/browser (its lib.mjs: TOTP, the Chromium path) and web/portal (openpgp.js,
# built into the binary) when their node_modules are missing (needs Node.js >= 20).

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build/release}"
NGINX="${NGINX:-/usr/sbin/nginx}"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/portal/run.sh: %s\n' "$*" >&2; exit 1; }

# ---- install what the benchmark needs ---------------------------------------------------------
if [[ -z "${NO_INSTALL:-}" ]]; then
  missing=()
  for p in wrk nginx-light chromium gnupg curl python3 procps; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    SUDO=""
    [[ $EUID -ne 0 ]] && SUDO="sudo"
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # nginx is a reference only: never leave Debian's default site running.
    if printf '%s\n' "${missing[@]}" | grep -q '^nginx'; then
      $SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
    fi
  fi
  command -v node >/dev/null && command -v npm >/dev/null || die "Node.js >= 20 and npm are needed"
  for dir in tests/browser web/portal; do
    if [[ ! -d "$REPO/$dir/node_modules" ]]; then
      say "npm ci in $dir"
      (cd "$REPO/$dir" && npm ci --no-audit --no-fund >/dev/null)
    fi
  done
fi
for tool in wrk gpg curl python3 node; do
  command -v "$tool" >/dev/null || die "$tool is missing (run without NO_INSTALL)"
done
[[ -x "$NGINX" ]] || die "no nginx at $NGINX (apt-get install nginx-light)"

# ---- build (the portal's static files, openpgp.min.js included, are in the binary) ---------
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  say "configuring the release build"
  (cd "$REPO" && cmake --preset release >/dev/null)
fi
if [[ -z "${NO_BUILD:-}" ]]; then
  say "building sealpost and sealpost_loadgen (release)"
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target sealpost sealpost_loadgen >/dev/null
fi
export SEALPOST_BIN="$BUILD_DIR/src/app/sealpost"
LOADGEN="$BUILD_DIR/bench/sealpost_loadgen"
[[ -x "$SEALPOST_BIN" && -x "$LOADGEN" ]] || die "the build did not produce sealpost and sealpost_loadgen"

# ---- run ----------------------------------------------------------------------------------
args=(--counts "${COUNTS:-10000,100000}" --connections "${CONNECTIONS:-1,4,16,64}"
      --duration "${DURATION:-10}" --warmup "${WARMUP:-2}"
      --fill-connections "${FILL_CONNECTIONS:-16}" --loadgen "$LOADGEN" --nginx "$NGINX"
      --tmpdir "${BENCH_TMPDIR:-/tmp}")
[[ -n "${SKIP_SERVER:-}" ]] && args+=(--skip-server)
[[ -n "${SKIP_BROWSER:-}" ]] && args+=(--skip-browser)
[[ -n "${RESULTS_JSON:-}" ]] && args+=(--json "$RESULTS_JSON")
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
exec python3 "$HERE/bench.py" "${args[@]}"
