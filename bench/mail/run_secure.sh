#!/usr/bin/env bash
# Issue 9's figures in one command, on a release build:
#
#   bench/mail/run_secure.sh      (as root: Postfix's master must be started by root)
#
# - bench/mail/seal.sh: PGP/MIME and S/MIME (CBC, GCM) sign+encrypt of a 5 KB and a 1 MB
#   message, msgs/s and p50/p99 per message, with gpg and openssl cms on the same bytes as the
#   reference;
# - bench/submission/run.sh: SMTP submission, sealpost's listener against Postfix's smtpd
#   (STARTTLS, same client, same message size and concurrency), msgs/s, p50/p99, ratio; both
#   queue durably (sealpost's SQLite store, synchronous=FULL; Postfix's queue, fsync).
# The whole is run ROUNDS times (default 2) to show the spread, with the load average and the
# busiest other processes before and after each round. Every server a part starts, that part
# stops. Figures are printed, never asserted: this is not a test.
#
# Environment (all optional): ROUNDS=2, BUILD_DIR=build/release, NO_BUILD=1, and COUNT,
# CONNECTIONS, BODY_BYTES, BENCH_TMPDIR as bench/submission/run.sh reads them.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build/release}"
ROUNDS="${ROUNDS:-2}"
[[ "$(id -u)" == 0 ]] || { echo "run_secure.sh: run as root (Postfix)" >&2; exit 1; }
command -v cmake >/dev/null && command -v ninja >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake ninja-build >/dev/null
if [[ -z "${NO_BUILD:-}" ]]; then
  # g++ 12 at -O2 reports a false -Wmismatched-new-delete (an error under -Werror) in Boost.Asio's
  # coroutine frame of src/mail/submission/server.cpp (Session::auth); the asan build does not.
  [[ -f "$BUILD_DIR/build.ninja" ]] || (cd "$REPO" && cmake --preset release \
    -DCMAKE_CXX_FLAGS=-Wno-mismatched-new-delete >/dev/null)
  ninja -C "$BUILD_DIR" -j"$(nproc)" sealpost sealpost_mail_seal_bench >/dev/null
fi
grep -q 'CMAKE_BUILD_TYPE:STRING=Rel' "$BUILD_DIR/CMakeCache.txt" ||
  echo "run_secure.sh: warning: $BUILD_DIR is not a release (optimised) build" >&2

machine() {
  echo "uptime: $(uptime)"
  echo "busiest processes (%CPU over their life, command):"
  ps -eo pcpu=,comm= --sort=-pcpu | head -n 6 | sed 's/^/    /'
}
echo "# sealpost issue 9 benchmark, $(date -u '+%F %T UTC'), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
for round in $(seq 1 "$ROUNDS"); do
  echo
  echo "# round $round of $ROUNDS"
  machine
  "$REPO/bench/mail/seal.sh" "$BUILD_DIR"
  NO_BUILD=1 BUILD_DIR="$BUILD_DIR" "$REPO/bench/submission/run.sh"
  machine
done
