#!/usr/bin/env python3
"""Replays kurz's choice among summary candidates for fewer candidates and
other agreement measures, from one run's manifest.

Candidate i of a call depends only on its own seed (kurz decodes them
together but each is exactly what it would be alone), so the first k
candidates of a run with --candidates 8 are the candidates a run with
--candidates k makes. This script takes the first round's candidates that
kurz recorded in the manifest (`candidates`: text, language, unsupported)
and, for each k and agreement measure, picks as kurz does: among the
acceptable candidates (English, not degenerate, no unsupported
name/number) the one with the highest mean agreement with the others,
else the first candidate with the fewest problems. It then scores the
picks against reference summaries with rouge-score (stemming on, as
`kurz eval summaries`).

Usage:
  python3 bench/candidates.py --manifest OUT/manifest.jsonl \\
      --refs tests/fixtures/reference-summaries [--ks 1,2,4,8]

Needs: pip install rouge-score sacrebleu
"""

import argparse
import json
import os
import re
import sys

from rouge_score import rouge_scorer
from sacrebleu.metrics import CHRF

SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
CHRF_METRIC = CHRF()


def agreement(kind, a, b):
    if kind == "rougeL":
        return (SCORER.score(a, b)["rougeL"].fmeasure + SCORER.score(b, a)["rougeL"].fmeasure) / 2
    if kind == "chrf":
        return (CHRF_METRIC.sentence_score(a, [b]).score + CHRF_METRIC.sentence_score(b, [a]).score) / 200
    if kind == "mix":
        return (agreement("rougeL", a, b) + agreement("chrf", a, b)) / 2
    raise ValueError(kind)


def degenerate(text):
    words = [re.sub(r"^\W+|\W+$", "", w).lower() for w in text.split()]
    if not words:
        return True
    seen = {}
    for i in range(len(words) - 3):
        key = tuple(words[i:i + 4])
        seen[key] = seen.get(key, 0) + 1
        if seen[key] >= 3:
            return True
    return False


def choose(cands, kind):
    texts = [c["text"] for c in cands]
    n = len(texts)
    if n == 1:
        cons = [1.0]
    else:
        pair = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                pair[i][j] = pair[j][i] = agreement(kind, texts[i], texts[j])
        cons = [sum(row) / (n - 1) for row in pair]
    ok = [c["language"] == "en" and not c["unsupported"] and not degenerate(c["text"]) for c in cands]
    best = None
    for i in range(n):
        if ok[i] and (best is None or cons[i] > cons[best]):
            best = i
    if best is not None:
        return best, True
    rank = lambda i: (degenerate(texts[i]), cands[i]["language"] != "en", len(cands[i]["unsupported"]), -cons[i])
    return min(range(n), key=rank), False


def reference(refs, inp):
    stem = inp
    for part in ("../", "./"):
        while stem.startswith(part):
            stem = stem[len(part):]
    stem = os.path.splitext(stem)[0]
    for ext in ("txt", "md", "en.txt", "en.md"):
        p = os.path.join(refs, f"{stem}.{ext}")
        if os.path.isfile(p):
            return open(p, encoding="utf-8").read().strip()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--refs", required=True)
    ap.add_argument("--ks", default="1,2,4,8")
    ap.add_argument("--agreements", default="rougeL,chrf,mix")
    args = ap.parse_args()
    rows = {}
    for line in open(args.manifest, encoding="utf-8"):
        e = json.loads(line)
        if e.get("task") == "summarize" and e.get("candidates"):
            rows[e["input"]] = e
    ks = [int(k) for k in args.ks.split(",")]
    print(f"{len(rows)} summaries with recorded candidates", file=sys.stderr)
    table = []
    for kind in args.agreements.split(","):
        for k in ks:
            r1 = r2 = rl = 0.0
            scored = unsupported = with_unsup = english = passed = words = 0
            for inp, e in sorted(rows.items()):
                cands = e["candidates"][:k]
                if len(cands) < k:
                    continue
                i, ok = choose(cands, kind)
                c = cands[i]
                passed += ok
                english += c["language"] == "en"
                unsupported += len(c["unsupported"])
                with_unsup += bool(c["unsupported"])
                words += c["words"]
                ref = reference(args.refs, inp)
                if ref is not None:
                    s = SCORER.score(ref, c["text"])
                    r1 += s["rouge1"].fmeasure
                    r2 += s["rouge2"].fmeasure
                    rl += s["rougeL"].fmeasure
                    scored += 1
            n = len(rows)
            table.append({
                "agreement": kind, "k": k, "summaries": n, "with_reference": scored,
                "rouge1": round(r1 / max(scored, 1), 4), "rouge2": round(r2 / max(scored, 1), 4),
                "rougeL": round(rl / max(scored, 1), 4), "acceptable_found": passed,
                "english": english, "unsupported_claims": unsupported,
                "summaries_with_unsupported": with_unsup, "mean_words": round(words / max(n, 1), 1),
            })
            if k == 1:
                # The agreement measure plays no part with one candidate.
                pass
    print("| agreement | N | ROUGE-1 | ROUGE-2 | ROUGE-L | acceptable | English | unsupported (summaries) | words |")
    print("|---|---|---|---|---|---|---|---|---|")
    for t in table:
        print(f"| {t['agreement']} | {t['k']} | {t['rouge1']:.3f} | {t['rouge2']:.3f} | {t['rougeL']:.3f} | "
              f"{t['acceptable_found']}/{t['summaries']} | {t['english']}/{t['summaries']} | "
              f"{t['unsupported_claims']} ({t['summaries_with_unsupported']}) | {t['mean_words']} |")


if __name__ == "__main__":
    main()
