#!/usr/bin/env bash
# Installs what the tests need and runs every test: unit, integration, interop (gpg,
# openssl, testssl.sh), durability, and the fuzz targets (corpus replay + a short run).
# The build uses AddressSanitizer + UndefinedBehaviorSanitizer. Ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh --with-tests

JOBS=$(nproc)
cmake --preset asan >/dev/null
ninja -C build/asan -j"$JOBS"

# libFuzzer targets are built with clang (build/fuzz); ctest runs them briefly
# (FUZZ_SECONDS each) and replays the committed corpora in the ASan build too.
cmake --preset fuzz >/dev/null
ninja -C build/fuzz -j"$JOBS"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build/asan --output-on-failure -j"$JOBS" --timeout 1200
