#!/usr/bin/env bash
# Runs every fuzz target in turn (one process at a time), SECONDS each
# (default 270), and writes logs to fuzz/logs/<target>.log.
# Usage (from the repository root): fuzz/run_all.sh [SECONDS] [TARGET...]
set -u
cd "$(dirname "$0")/.."
secs=${1:-270}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(decode extract_html extract_markdown extract_text extract_pdf extract_office extract_email extract_feed chunk gguf tokenizer)
export KURZ_TEST_CACHE=${KURZ_TEST_CACHE:-/work/main/target/kurz-test-cache}
mkdir -p fuzz/logs
for t in "${targets[@]}"; do
  extra=()
  samples=()
  case $t in extract_*) extra=(-max_len=16384) ;; esac
  # The project's German samples seed the byte and markup targets (read
  # recursively; libFuzzer writes new inputs only into the first folder).
  # The binary-format targets have samples/formate/ copied into their seeds.
  case $t in decode | extract_html | extract_markdown | extract_text) samples=(samples) ;; esac
  mkdir -p "fuzz/corpus/$t"
  echo "== $t $(date -u +%FT%TZ) ${secs}s"
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" "${samples[@]}" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    "${extra[@]}" >"fuzz/logs/$t.log" 2>&1
  echo "   rc $? corpus $(ls "fuzz/corpus/$t" | wc -l) artifacts $(ls "fuzz/artifacts/$t" 2>/dev/null | wc -l)"
  grep -E '^#[0-9]+: cov' "fuzz/logs/$t.log" | tail -1
done
