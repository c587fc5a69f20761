#!/usr/bin/env python3
"""Write a token-id fixture made by llama.cpp, for tests/tokenizer_matches_llama_cpp.rs.

kurz rebuilds its tokenizer from GGUF metadata (src/model/tokenizer.rs) and must
produce exactly the token ids llama.cpp produces for the same text. This script
asks llama.cpp (through llama-cpp-python) once and stores the ids; the Rust test
compares against them, so neither CI nor developers need llama.cpp.

Requirements (in a virtualenv):

    python3 -m venv /tmp/llvenv
    /tmp/llvenv/bin/pip install llama-cpp-python gguf

Usage (from the repository root):

    /tmp/llvenv/bin/python scripts/make-token-fixture.py \
        --model-id smollm2-135m --gguf /path/to/smollm2-135m.gguf
    /tmp/llvenv/bin/python scripts/make-token-fixture.py \
        --model-id qwen2.5-coder-1.5b --gguf /path/to/qwen2.5-coder-1.5b-q4_k_m.gguf

writes tests/fixtures/tokens/<model-id>.json:

    {"model", "gguf_sha256", "llama_cpp_python", "tokenizer_pre", "command",
     "cases": [{"source", "text_sha256", "ids", ...}]}

Cases, each tokenized with `llm.tokenize(text.encode(), add_bos=False,
special=False)` (so control tokens such as `<|im_start|>` written in the text
are *not* matched; none of the texts contain one):

* every file under samples/, read whole as text in its real encoding (files
  listed in LATIN1 are ISO-8859-1, all others UTF-8); `source` is the path
  relative to the repository root and `encoding` says how to decode it;
* the seed article ../shared/data/seed/article.de.txt
  (`source` = "shared:seed/article.de.txt");
* the first 300 lines of ../shared/data/wmt22-de-en/src.de, each line (without
  its "\\n") its own case (`source` = "shared:wmt22-de-en/src.de:<line number>",
  1-based);
* the INLINE strings below (`source` = "inline:<n>", 0-based, plus `text`).

The shared data may not be redistributed, so shared cases store only the
SHA-256 of the text (UTF-8); the test re-reads it from ../shared/data. For all
cases `text_sha256` is the SHA-256 of the UTF-8 encoding of the decoded text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from pathlib import Path

import llama_cpp
from llama_cpp import Llama

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"

# Sample files that are not UTF-8 (relative to the repository root).
LATIN1 = {"samples/regional/gemeinderat-latin1.txt"}

WMT_LINES = 300

INLINE = [
    "1.234.567,89 €",
    "12. März 2025",
    "it's we'll I'd",
    "IT'S WE'LL I'D they're you've I'm don't",
    "a  b\n\n\nc\t\td",
    "Das war 👍 super 🎉🇩🇪 👨‍👩‍👧 😀😀",
    "Straße ÄÖÜ äöü ß",
    "#PRS_ORG# sagte: „Nein!“",
    "   leading and trailing spaces   ",
    " x",
    "x ",
    "Zeile eins\r\nZeile zwei\r\n\r\nZeile drei\r\n",
    "\r\n",
    " \n \n  \n",
    "Ende.\n\n",
    "\t\t",
    "123456789 0,5 % 3.5 2025-03-12 10:30 Uhr",
    "Hello\u00a0world\u2009– 5\u202f000 €",
    "e\u0301 ﬁ ½ ² Ⅻ",
    "日本語テキスト 한국어 Ελληνικά русский",
    "https://www.example.de/pfad/seite.html?x=1&y=2#anker",
    "<p class=\"a\">Hallo &amp; Tschüss</p>",
    "z. B. usw. Mio.€ S&P 500 C++ ...!!! ??? —–- ((()))",
    "'s 'S 'll 'LL ''",
    "a\u000b\u000cb \u0085 x\u2028y\u2029z",
    "zero\u200bwidth soft\u00adhyphen ideographic\u3000space",
    "ǅemal ١٢٣ ۴۵ ⁵ ① 12345678901234567890",
    "Ende\n\n   \n\tNeu  ",
    "",
]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_text(path: Path, encoding: str) -> str:
    # newline="" keeps "\r\n" exactly as in the file.
    with path.open("r", encoding=encoding, newline="") as f:
        return f.read()


def tokenizer_pre(gguf_path: Path) -> str | None:
    try:
        import gguf
    except ImportError:
        return None
    reader = gguf.GGUFReader(str(gguf_path))
    field = reader.get_field("tokenizer.ggml.pre")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-id", required=True, help="preset id, e.g. smollm2-135m")
    ap.add_argument("--gguf", required=True, type=Path, help="path of the GGUF file")
    ap.add_argument(
        "--out-dir",
        type=Path,
        default=REPO / "tests" / "fixtures" / "tokens",
        help="where to write <model-id>.json",
    )
    args = ap.parse_args()

    llm = Llama(model_path=str(args.gguf), vocab_only=True, verbose=False)

    def ids(text: str) -> list[int]:
        return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    cases = []

    samples = sorted(p for p in (REPO / "samples").rglob("*") if p.is_file())
    for path in samples:
        rel = path.relative_to(REPO).as_posix()
        encoding = "latin-1" if rel in LATIN1 else "utf-8"
        text = read_text(path, encoding)
        cases.append(
            {
                "source": rel,
                "encoding": encoding,
                "text_sha256": sha256_text(text),
                "ids": ids(text),
            }
        )

    seed = SHARED / "seed" / "article.de.txt"
    text = read_text(seed, "utf-8")
    cases.append(
        {
            "source": "shared:seed/article.de.txt",
            "text_sha256": sha256_text(text),
            "ids": ids(text),
        }
    )

    src = read_text(SHARED / "wmt22-de-en" / "src.de", "utf-8")
    for n, line in enumerate(src.split("\n")[:WMT_LINES], start=1):
        cases.append(
            {
                "source": f"shared:wmt22-de-en/src.de:{n}",
                "text_sha256": sha256_text(line),
                "ids": ids(line),
            }
        )

    for n, text in enumerate(INLINE):
        cases.append(
            {
                "source": f"inline:{n}",
                "text": text,
                "text_sha256": sha256_text(text),
                "ids": ids(text),
            }
        )

    fixture = {
        "model": args.model_id,
        "gguf_sha256": sha256_file(args.gguf),
        "llama_cpp_python": llama_cpp.__version__,
        "tokenizer_pre": tokenizer_pre(args.gguf),
        "command": shlex.join([sys.executable] + sys.argv),
        "cases": cases,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"{args.model_id}.json"
    # One case per line: readable diffs without one line per token id.
    head = json.dumps({k: v for k, v in fixture.items() if k != "cases"}, ensure_ascii=False, indent=1)
    body = ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases)
    with out.open("w", encoding="utf-8") as f:
        f.write(head[:-2] + ',\n "cases": [\n' + body + "\n ]\n}\n")
    print(f"wrote {out} ({len(cases)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
