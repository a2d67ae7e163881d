#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, `cmake --preset fuzz` -> build/fuzz) and, for each
# one: replays its committed corpus, then fuzzes for FUZZ_SECONDS (default 20) into a
# scratch copy of the corpus, so nothing new is ever written into tests/fuzz/corpus.
# Exits non-zero if any target crashes; crash inputs are kept in build/fuzz/artifacts/.
# A reproducer, once its bug is fixed, goes into tests/fuzz/corpus/<target>/ for good.
#
#   tests/fuzz/run.sh                 # all targets, 20 s each
#   FUZZ_SECONDS=300 tests/fuzz/run.sh fuzz_token
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_BUILD_JOBS:-2}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] ||
  targets=(fuzz_urlencoded fuzz_declaration fuzz_token fuzz_cookie fuzz_json_body
    fuzz_proxy_protocol fuzz_public_keys fuzz_dns_rdata fuzz_mail_address fuzz_dkim_record
    fuzz_smtp_reply fuzz_ehlo fuzz_tlsrpt_record fuzz_mta_sts fuzz_api_key fuzz_api_send
    fuzz_submission_command fuzz_submission_auth fuzz_submission_message fuzz_certificate fuzz_csv
    fuzz_contact_request fuzz_mime_text fuzz_segment fuzz_template)

# The fuzz build's UBSan recovers by default; a report must count as a crash.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

cd "$root"
cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j "$jobs" --target "${targets[@]}"

bin=build/fuzz/tests/fuzz
artifacts=$root/build/fuzz/artifacts
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=0
for target in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/$target
  log=$scratch/$target.log
  dict=tests/fuzz/$target.dict
  dict_flag=()
  [[ -f $dict ]] && dict_flag=(-dict="$dict")

  # 1. Every committed input, once (-runs=0 executes the corpus and mutates nothing).
  if ! "$bin/$target" -runs=0 -artifact_prefix="$artifacts/$target-" "$corpus" >"$log" 2>&1; then
    echo "$target: FAIL replaying $corpus"
    tail -n 40 "$log"
    failed=1
    continue
  fi
  seeds=$(find "$corpus" -type f | wc -l)

  # 2. Fuzz into a scratch copy; the committed corpus stays read-only input.
  work=$scratch/$target.corpus
  cp -r "$corpus" "$work"
  if ! "$bin/$target" "$work" "${dict_flag[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
      >"$log" 2>&1; then
    echo "$target: FAIL after fuzzing; reproducer(s) in $artifacts:"
    ls -1 "$artifacts" | grep "^$target-" || true
    grep -m1 -E "ERROR|runtime error|deadly signal" "$log" || true
    tail -n 40 "$log"
    failed=1
    continue
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 || true)
  found=$(($(find "$work" -type f | wc -l) - seeds))
  echo "$target: ok, $seeds seeds replayed, ${execs:-?} execs in ${seconds}s (${speed:-?}/s), ${cov:-cov: ?}, $found new inputs (not kept), 0 crashes"
done
exit "$failed"
