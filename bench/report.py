#!/usr/bin/env python3
"""Turns the raw runs of bench/run.sh into <prefix>.json and <prefix>.md.

Usage: report.py RAW_DIR PREFIX   (standard library only)

Every figure is given as median, min and max over the repeats; the ratio
row divides kurz's median by llama.cpp's.
"""

import json
import re
import statistics
import sys
from pathlib import Path

ENGINES = ("kurz", "llama.cpp")
FILE_PREFIX = {"kurz": "kurz", "llama.cpp": "llama"}
# figure -> (column title, format, True when higher is better)
FIGURES = {
    "load_s": ("load s", "{:.2f}", False),
    "prefill_tok_s": ("prefill tok/s", "{:.1f}", True),
    "decode_tok_s": ("decode tok/s", "{:.1f}", True),
    "peak_rss_mb": ("peak RSS MB", "{:.0f}", False),
    "articles_per_hour": ("articles/hour", "{:.1f}", True),
}


def read_meta(raw):
    meta = {}
    for line in (raw / "meta.txt").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        meta[key] = value
    return meta


def peak_rss_mb(time_file):
    """Maximum resident set size from `/usr/bin/time -v`, in MB (10^6 bytes)."""
    text = time_file.read_text(encoding="utf-8", errors="replace")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not m:
        sys.exit(f"report.py: no 'Maximum resident set size' in {time_file}")
    return int(m.group(1)) * 1024 / 1e6


def runs(folder, engine):
    """The numbered runs of an engine in a raw folder, in order."""
    prefix = FILE_PREFIX[engine]
    found = sorted(
        folder.glob(f"{prefix}-*.wall"),
        key=lambda p: int(p.stem.rsplit("-", 1)[1]),
    )
    return [p.with_suffix("") for p in found]


def spread(values):
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": values,
    }


def prompt_figures(raw, engine):
    figures = {"load_s": [], "prefill_tok_s": [], "decode_tok_s": [], "peak_rss_mb": []}
    detail = []
    for run in runs(raw / "prompt", engine):
        data = json.loads(run.with_suffix(".json").read_text(encoding="utf-8"))
        totals = data["totals"]
        figures["load_s"].append(data["load_s"])
        figures["prefill_tok_s"].append(totals["prefill_tok_s"])
        figures["decode_tok_s"].append(totals["decode_tok_s"])
        figures["peak_rss_mb"].append(peak_rss_mb(run.with_suffix(".time")))
        detail.append(data["files"])
    return figures, detail


def folder_figures(raw, engine, articles):
    per_hour, rss, generated = [], [], []
    for run in runs(raw / "folder", engine):
        wall = float(run.with_suffix(".wall").read_text().strip())
        per_hour.append(articles * 3600 / wall)
        rss.append(peak_rss_mb(run.with_suffix(".time")))
        if engine == "kurz":
            manifest = run.with_suffix(".summaries") / "manifest.jsonl"
            entries = [json.loads(l) for l in manifest.read_text(encoding="utf-8").splitlines() if l]
            generated.append(sum(e.get("generated_tokens", 0) for e in entries))
        else:
            data = json.loads(run.with_suffix(".json").read_text(encoding="utf-8"))
            generated.append(data["totals"]["generated_tokens"])
    return per_hour, rss, generated


def summary_prompt_tokens(entry):
    """A manifest row's prompt tokens less those of its title calls."""
    total = entry.get("prompt_tokens")
    if total is None:
        return None
    return total - (entry.get("title_prompt_tokens") or 0)


def kurz_folder_checks(raw, dumped):
    """Notes where kurz summarize did not make exactly the dumped call."""
    notes = []
    for run in runs(raw / "folder", "kurz"):
        manifest = run.with_suffix(".summaries") / "manifest.jsonl"
        for line in manifest.read_text(encoding="utf-8").splitlines():
            e = json.loads(line)
            name = e.get("input")
            calls = e.get("model_calls")
            # The English title is a call (or two) of its own.
            expected = 1 + (e.get("title_attempts") or 0)
            if e.get("status") != "ok":
                notes.append(f"{run.name}: {name}: status {e.get('status')}: {e.get('error')}")
            elif calls != expected:
                notes.append(
                    f"{run.name}: {name}: {calls} model calls (expected {expected}: "
                    "the summary and the title attempts)"
                )
            elif name in dumped and summary_prompt_tokens(e) != dumped[name]:
                notes.append(
                    f"{run.name}: {name}: {summary_prompt_tokens(e)} summary prompt tokens, "
                    f"dumped {dumped[name]}"
                )
    return notes


def same_tokens(kurz_files, llama_files):
    """Whether both engines generated the same ids, per file, in the first run."""
    out = []
    for k, l in zip(kurz_files, llama_files):
        a, b = k.get("output_tokens", []), l.get("output_tokens", [])
        if a == b:
            out.append(f"{k['file']}: identical ({len(a)} tokens)")
        else:
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            out.append(f"{k['file']}: differ from token {first} (kurz {len(a)}, llama.cpp {len(b)} tokens)")
    return out


def fmt(stat, pattern):
    if stat is None:
        return "—"
    m, lo, hi = (pattern.format(stat[k]) for k in ("median", "min", "max"))
    return m if lo == hi else f"{m} ({lo}–{hi})"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    raw, prefix = Path(sys.argv[1]), Path(sys.argv[2])
    meta = read_meta(raw)
    result = {"meta": meta, "engines": {}, "ratios": {}, "notes": []}

    prompt = json.loads((raw / "prompt" / "prompts.jsonl").read_text(encoding="utf-8").splitlines()[0])
    prompt_len = len(prompt["prompt_tokens"])
    details = {}
    for engine in ENGINES:
        figures, detail = prompt_figures(raw, engine)
        details[engine] = detail
        result["engines"][engine] = {k: spread(v) for k, v in figures.items()}
        result["engines"][engine]["generated_tokens"] = [f[0]["generated_tokens"] for f in detail]

    first_llama = runs(raw / "prompt", "llama.cpp")[0].with_suffix(".json")
    result["llama_version"] = json.loads(first_llama.read_text(encoding="utf-8")).get("version")
    # The kernel path kurz ran (KURZ_KERNELS): figures compare only on one path.
    first_kurz = runs(raw / "prompt", "kurz")[0].with_suffix(".json")
    result["kurz_kernels"] = json.loads(first_kurz.read_text(encoding="utf-8")).get("kernels", "?")

    folder_prompts = raw / "folder" / "prompts.jsonl"
    folder_info = None
    if folder_prompts.exists():
        dumped = [json.loads(l) for l in folder_prompts.read_text(encoding="utf-8").splitlines() if l]
        fitting = {p["file"]: len(p["prompt_tokens"]) for p in dumped if p["fits"]}
        skipped = [p["file"] for p in dumped if not p["fits"]]
        folder_info = {
            "articles": len(fitting),
            "skipped_as_chunked": skipped,
            "max_new_tokens": dumped[0]["max_new_tokens"],
            "prompt_tokens": sum(fitting.values()),
        }
        for engine in ENGINES:
            per_hour, rss, generated = folder_figures(raw, engine, len(fitting))
            e = result["engines"][engine]
            e["articles_per_hour"] = spread(per_hour)
            e["folder_peak_rss_mb"] = spread(rss)
            e["folder_generated_tokens"] = generated
        result["notes"] += kurz_folder_checks(raw, fitting)
    result["folder"] = folder_info

    for key in FIGURES:
        k, l = result["engines"]["kurz"].get(key), result["engines"]["llama.cpp"].get(key)
        if k and l and l["median"]:
            result["ratios"][key] = k["median"] / l["median"]
    size_mb = int(meta["model_bytes"]) / 1e6
    rss = result["engines"]["kurz"]["peak_rss_mb"]
    result["kurz_rss_over_file_size"] = rss["median"] / size_mb if rss else None
    result["same_output_tokens"] = same_tokens(details["kurz"][0], details["llama.cpp"][0])

    # Appended, not `with_suffix`: model names contain dots (qwen2.5-…).
    prefix.parent.joinpath(prefix.name + ".json").write_text(
        json.dumps(result, indent=2) + "\n", encoding="utf-8"
    )
    prefix.parent.joinpath(prefix.name + ".md").write_text(
        markdown(result, meta, prompt_len, size_mb), encoding="utf-8"
    )
    print(markdown(result, meta, prompt_len, size_mb))


def markdown(result, meta, prompt_len, size_mb):
    heads = [FIGURES[k][0] for k in FIGURES]
    lines = [
        f"## kurz vs llama.cpp, {meta['date']}",
        "",
        "| engine | " + " | ".join(heads) + " |",
        "|---|" + "---|" * len(heads),
    ]
    for engine in ENGINES:
        e = result["engines"][engine]
        cells = [fmt(e.get(k), FIGURES[k][1]) for k in FIGURES]
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    ratios = [
        f"{result['ratios'][k]:.2f}×" if k in result["ratios"] else "—" for k in FIGURES
    ]
    lines.append("| kurz / llama.cpp | " + " | ".join(ratios) + " |")
    gen = {e: result["engines"][e]["generated_tokens"] for e in ENGINES}
    lines += [
        "",
        f"Median (min–max) of {meta['repeats']} alternating runs per engine; load, prefill, "
        f"decode and peak RSS from the prompt article, articles/hour from "
        f"{meta['folder_repeats']} run(s) over the folder. Higher is better for rates and "
        "articles/hour, lower for load time and memory.",
        "",
        f"- Command: `{meta['command']}`",
        f"- Model: `{Path(meta['model']).name}` ({size_mb:.0f} MB, sha256 {meta['model_sha256']}…)",
        f"- Machine: {meta['cpu']}, {meta['cores']} cores; {meta['threads']} threads for both engines",
        f"- kurz: {meta['kurz_version']}, kernels {result['kurz_kernels']}; "
        "llama.cpp: llama-cpp-python "
        f"{result['llama_version']}",
        f"- Prompt: `{meta['article']}` as `kurz summarize` prompts it ({prompt_len} tokens), "
        f"greedy, at most {meta['max_new_tokens']} new tokens, stopping at end of turn; "
        f"generated tokens kurz {gen['kurz']}, llama.cpp {gen['llama.cpp']}",
    ]
    lines += [f"  - {s}" for s in result["same_output_tokens"]]
    rss_ratio = result.get("kurz_rss_over_file_size")
    if rss_ratio:
        lines.append(f"- kurz peak RSS / GGUF file size: {rss_ratio:.2f}")
    folder = result.get("folder")
    if folder:
        fg = {e: result["engines"][e]["folder_generated_tokens"] for e in ENGINES}
        skipped = ", ".join(f"`{s}`" for s in folder["skipped_as_chunked"]) or "none"
        lines.append(
            f"- Articles/hour: `{meta['folder']}`, {folder['articles']} articles "
            f"({folder['prompt_tokens']} prompt tokens; skipped because `summarize` would chunk "
            f"them: {skipped}). kurz: `kurz summarize --jobs {meta['jobs']} --max-words "
            f"{meta['max_words']} --no-guard --force` (wall clock, whole process); llama.cpp: "
            f"the same prompts file by file in one process, same cap ({folder['max_new_tokens']} "
            f"tokens), greedy. The guard is off because llama.cpp has none. Generated tokens "
            f"kurz {fg['kurz']}, llama.cpp {fg['llama.cpp']} (kurz stops once an answer is past "
            f"the word bound it would be trimmed to; llama.cpp runs to end of turn or the cap)."
        )
        frss = result["engines"]["kurz"].get("folder_peak_rss_mb")
        if frss:
            lines.append(
                f"- kurz peak RSS over the folder with `--jobs {meta['jobs']}`: "
                f"{frss['median']:.0f} MB, {frss['median'] / size_mb:.2f}× the GGUF file"
            )
    for note in result["notes"]:
        lines.append(f"- Note: {note}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
