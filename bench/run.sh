#!/usr/bin/env bash
# kurz vs llama.cpp on the same GGUF file, prompts and threads.
# Usage and what is measured: bench/README.md.  bench/run.sh --help
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
command_line="bench/run.sh$(printf ' %q' "$@")"

usage() {
    cat <<'EOF'
Usage: bench/run.sh [options]

  --model PATH          GGUF file [default: the qwen2.5-coder-1.5b preset,
                        `kurz models path`, pulled if missing]
  --threads N           threads for both engines [default: nproc]
  --repeats N           runs of each engine on the prompt article [default: 5]
  --article FILE        the prompt article [default: ../shared/data/seed/article.de.txt
                        if it exists, else samples/nachrichten/hochwasser-sachsen.txt]
  --max-new-tokens N    generation cap for the prompt article [default: 128]
  --folder DIR          articles for the articles/hour figure [default: bench/articles/,
                        20 German news articles]
  --folder-repeats N    runs of each engine over the folder; 0 skips it
                        [default: --repeats]
  --jobs J              `kurz summarize --jobs` for the folder [default: 1]
  --max-words W         `kurz summarize --max-words` for the folder; llama.cpp gets
                        the same token cap [default: 60]
  --out DIR             where results go [default: bench/results]
  --kurz PATH           kurz binary to use [default: cargo build --release]

Environment: LLAMA_VENV=DIR reuses a virtualenv with llama-cpp-python
[default: bench/.venv, created on first use].
EOF
}

die() {
    echo "bench/run.sh: error: $*" >&2
    exit 1
}

model="" threads="" repeats=5 article="" max_new=128 folder="" folder_repeats=""
jobs=1 max_words=60 out="$here/results" kurz=""
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --model | --threads | --repeats | --article | --max-new-tokens | --folder | \
            --folder-repeats | --jobs | --max-words | --out | --kurz)
            [ $# -ge 2 ] || die "$1 needs a value"
            case "$1" in
                --model) model=$2 ;;
                --threads) threads=$2 ;;
                --repeats) repeats=$2 ;;
                --article) article=$2 ;;
                --max-new-tokens) max_new=$2 ;;
                --folder) folder=$2 ;;
                --folder-repeats) folder_repeats=$2 ;;
                --jobs) jobs=$2 ;;
                --max-words) max_words=$2 ;;
                --out) out=$2 ;;
                --kurz) kurz=$2 ;;
            esac
            shift 2
            ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

is_count() { [[ $1 =~ ^[0-9]+$ ]]; }
threads=${threads:-$(nproc)}
folder_repeats=${folder_repeats:-$repeats}
for pair in "threads:$threads" "repeats:$repeats" "max-new-tokens:$max_new" \
    "jobs:$jobs" "max-words:$max_words" "folder-repeats:$folder_repeats"; do
    is_count "${pair#*:}" || die "--${pair%%:*} must be a whole number, not '${pair#*:}'"
done
if [ "$threads" -lt 1 ] || [ "$repeats" -lt 1 ] || [ "$jobs" -lt 1 ]; then
    die "--threads, --repeats and --jobs must be at least 1"
fi

if [ -z "$article" ]; then
    article="$root/../shared/data/seed/article.de.txt"
    [ -f "$article" ] || article="$root/samples/nachrichten/hochwasser-sachsen.txt"
fi
[ -f "$article" ] || die "article $article not found"
folder=${folder:-$here/articles}
[ "$folder_repeats" -eq 0 ] || [ -d "$folder" ] || die "folder $folder not found"

# --- tools -------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "bench/run.sh: installing GNU time (apt-get install time)" >&2
        apt-get install -y -qq time >/dev/null || die "apt-get install time failed"
    else
        die "/usr/bin/time (GNU time) is missing: install the 'time' package"
    fi
fi
command -v python3 >/dev/null || die "python3 is needed (for the report)"

# The commit is known only for the binary built here; one given with
# --kurz may come from any checkout.
if [ -z "$kurz" ]; then
    echo "bench/run.sh: building kurz (cargo build --release)" >&2
    (cd "$root" && cargo build --release --quiet) || die "cargo build --release failed"
    kurz="${CARGO_TARGET_DIR:-$root/target}/release/kurz"
    built_from=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "unknown commit")
else
    built_from="binary $kurz, commit not known"
fi
[ -x "$kurz" ] || die "kurz binary $kurz not found or not executable"

venv=${LLAMA_VENV:-$here/.venv}
py="$venv/bin/python"
if ! "$py" -c 'import llama_cpp, numpy' 2>/dev/null; then
    [ -z "${LLAMA_VENV:-}" ] || die "LLAMA_VENV=$venv has no working llama_cpp"
    echo "bench/run.sh: setting up llama.cpp in $venv (builds from source; minutes)" >&2
    python3 -m venv "$venv" || die "cannot create a virtualenv in $venv"
    "$py" -m pip install --quiet llama-cpp-python==0.3.36 numpy ||
        die "pip install llama-cpp-python failed (it needs a C++ compiler and cmake)"
fi

if [ -z "$model" ]; then
    model=$("$kurz" models path qwen2.5-coder-1.5b 2>/dev/null) || {
        "$kurz" models pull qwen2.5-coder-1.5b >&2 || die "cannot pull qwen2.5-coder-1.5b"
        model=$("$kurz" models path qwen2.5-coder-1.5b)
    }
fi
[ -f "$model" ] || die "model $model not found"

# --- setup -------------------------------------------------------------------
stem="$(date +%Y-%m-%d)-$(basename "$model" .gguf)"
raw="$out/$stem.raw"
rm -rf "$raw"
mkdir -p "$raw/prompt" "$raw/folder"
export CANDLE_NUM_THREADS=$threads RAYON_NUM_THREADS=$threads

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
# timed NAME CMD...: runs CMD under GNU time; stdout to NAME.json, stderr to
# NAME.err, time -v to NAME.time, wall seconds to NAME.wall.
timed() {
    local name=$1 start end
    shift
    start=$(now)
    if ! /usr/bin/time -v -o "$name.time" "$@" >"$name.json" 2>"$name.err"; then
        tail -n 20 "$name.err" >&2
        die "failed: $*  (log: $name.err)"
    fi
    end=$(now)
    elapsed "$start" "$end" >"$name.wall"
}

echo "bench/run.sh: warming the page cache with $model" >&2
cat "$model" >/dev/null

"$kurz" bench --model "$model" --max-new-tokens "$max_new" \
    --dump-prompts "$raw/prompt/prompts.jsonl" "$article" ||
    die "kurz bench --dump-prompts failed for $article"

# --- prompt article: load, prefill, decode, peak RSS --------------------------
for ((i = 1; i <= repeats; i++)); do
    echo "bench/run.sh: prompt run $i/$repeats" >&2
    run_kurz() {
        timed "$raw/prompt/kurz-$i" "$kurz" bench --model "$model" --threads "$threads" \
            --max-new-tokens "$max_new" --json "$article"
    }
    run_llama() {
        timed "$raw/prompt/llama-$i" "$py" "$here/llama_ref.py" --model "$model" \
            --threads "$threads" --prompts "$raw/prompt/prompts.jsonl"
    }
    # Alternate who goes first, so drift in machine load hits both alike.
    if ((i % 2)); then run_kurz; run_llama; else run_llama; run_kurz; fi
done

# --- folder: articles/hour ----------------------------------------------------
if [ "$folder_repeats" -gt 0 ]; then
    "$kurz" bench --model "$model" --summary-budget --max-words "$max_words" \
        --dump-prompts "$raw/folder/prompts.jsonl" "$folder" ||
        die "kurz bench --dump-prompts failed for $folder"
    # Articles kurz summarize would split into chunks have no single prompt
    # llama.cpp could run: both engines skip them.
    mapfile -t files < <(python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    p = json.loads(line)
    if p["fits"]:
        print(p["file"])' "$raw/folder/prompts.jsonl")
    [ "${#files[@]}" -gt 0 ] || die "no article in $folder fits one call"
    for ((i = 1; i <= folder_repeats; i++)); do
        echo "bench/run.sh: folder run $i/$folder_repeats (${#files[@]} articles)" >&2
        run_kurz() {
            timed "$raw/folder/kurz-$i" "$kurz" summarize --model "$model" \
                -o "$raw/folder/kurz-$i.summaries" --jobs "$jobs" --max-words "$max_words" \
                --no-guard --force --quiet "${files[@]}"
        }
        run_llama() {
            timed "$raw/folder/llama-$i" "$py" "$here/llama_ref.py" --model "$model" \
                --threads "$threads" --prompts "$raw/folder/prompts.jsonl" --only-fitting
        }
        if ((i % 2)); then run_kurz; run_llama; else run_llama; run_kurz; fi
    done
fi

# --- report --------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
sha=$(sha256sum "$model" | cut -c1-16)
{
    echo "command=$command_line"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "model=$model"
    echo "model_bytes=$(stat -c %s "$model")"
    echo "model_sha256=$sha"
    echo "cpu=${cpu:-unknown}"
    echo "cores=$(nproc)"
    echo "threads=$threads"
    echo "repeats=$repeats"
    echo "folder_repeats=$folder_repeats"
    echo "article=${article#"$root/"}"
    echo "max_new_tokens=$max_new"
    echo "folder=${folder#"$root/"}"
    echo "jobs=$jobs"
    echo "max_words=$max_words"
    echo "kurz_version=$("$kurz" --version) ($built_from)"
} >"$raw/meta.txt"
python3 "$here/report.py" "$raw" "$out/$stem"
echo "bench/run.sh: wrote $out/$stem.md and $out/$stem.json (raw runs: $raw)" >&2
