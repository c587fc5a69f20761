#!/usr/bin/env python3
"""The llama.cpp side of bench/run.sh: runs the prompt token ids that
`kurz bench --dump-prompts` wrote through llama.cpp (llama-cpp-python),
greedily, exactly as kurz's generation loop does, and prints one JSON object
shaped like `kurz bench --json`.

Per prompt: the ids are evaluated in batches of 512 (kurz prefills in chunks
of 512 too) -> prefill seconds; then the loop picks the argmax of the last
logits, stops on one of the dumped stop tokens (not counted) or after
max_new_tokens, and evaluates each kept token except the last one that hits
the cap -> decode seconds. Same forward passes as kurz, so the rates compare.

Needs numpy and llama_cpp (both in the benchmark's virtualenv).
"""

import argparse
import json
import sys
import time

import numpy as np
import llama_cpp


def rate(tokens, seconds):
    return tokens / seconds if seconds > 0 else 0.0


def run_prompt(llm, prompt):
    ids = prompt["prompt_tokens"]
    max_new = prompt["max_new_tokens"]
    stops = set(prompt.get("stop_tokens", [llm.token_eos()]))
    n_vocab = llm.n_vocab()

    def last_logits():
        return np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,))

    llm.reset()
    start = time.perf_counter()
    llm.eval(ids)
    logits = last_logits()
    prefill_s = time.perf_counter() - start

    start = time.perf_counter()
    out = []
    stop = "max_tokens"
    while len(out) < max_new:
        nxt = int(np.argmax(logits))
        if nxt in stops:
            stop = "end_of_turn"
            break
        out.append(nxt)
        if len(out) == max_new:
            break
        llm.eval([nxt])
        logits = last_logits()
    decode_s = time.perf_counter() - start
    return {
        "file": prompt["file"],
        "prompt_tokens": len(ids),
        "fits": prompt.get("fits", True),
        "prefill_s": prefill_s,
        "prefill_tok_s": rate(len(ids), prefill_s),
        "generated_tokens": len(out),
        "decode_s": decode_s,
        "decode_tok_s": rate(len(out), decode_s),
        "stop": stop,
        "output_tokens": out,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the GGUF file")
    ap.add_argument("--prompts", required=True, help="JSONL from kurz bench --dump-prompts")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--only-fitting", action="store_true",
                    help="skip prompts marked fits=false (kurz summarize would chunk them)")
    args = ap.parse_args()

    with open(args.prompts, encoding="utf-8") as f:
        prompts = [json.loads(line) for line in f if line.strip()]
    if args.only_fitting:
        prompts = [p for p in prompts if p.get("fits", True)]
    if not prompts:
        sys.exit(f"llama_ref.py: no prompts in {args.prompts}")
    n_ctx = max(len(p["prompt_tokens"]) + p["max_new_tokens"] for p in prompts)

    start = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=args.model,
        n_ctx=n_ctx,
        n_batch=512,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        logits_all=False,
        verbose=False,
    )
    load_s = time.perf_counter() - start

    files = [run_prompt(llm, p) for p in prompts]
    prompt_tokens = sum(r["prompt_tokens"] for r in files)
    generated = sum(r["generated_tokens"] for r in files)
    prefill_s = sum(r["prefill_s"] for r in files)
    decode_s = sum(r["decode_s"] for r in files)
    json.dump(
        {
            "engine": "llama.cpp",
            "version": llama_cpp.__version__,
            "model": args.model,
            "threads": args.threads,
            "n_ctx": n_ctx,
            "load_s": load_s,
            "files": files,
            "totals": {
                "files": len(files),
                "prompt_tokens": prompt_tokens,
                "prefill_s": prefill_s,
                "prefill_tok_s": rate(prompt_tokens, prefill_s),
                "generated_tokens": generated,
                "decode_s": decode_s,
                "decode_tok_s": rate(generated, decode_s),
            },
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
