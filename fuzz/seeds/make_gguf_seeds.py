#!/usr/bin/env python3
"""Writes the hand-made GGUF seeds of the `gguf` fuzz target into gguf/.

Run from fuzz/seeds: `python3 make_gguf_seeds.py`. The seeds are tiny
valid GGUF v3 files: a bare header with two metadata keys, a header with a
full (tiny) llama/gpt2-tokenizer metadata set and no tensors, and the same
with every tensor of a one-block llama model (F32, embedding width 8).
"""
import os
import struct

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
ALIGN = 32


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = s(key) + struct.pack("<I", vtype)
    return out + val(vtype, value)


def val(vtype, value):
    if vtype == STRING:
        return s(value)
    if vtype == ARRAY:
        etype, items = value
        return struct.pack("<IQ", etype, len(items)) + b"".join(val(etype, v) for v in items)
    fmt = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f",
           BOOL: "?", U64: "Q", I64: "q", F64: "d"}[vtype]
    return struct.pack("<" + fmt, value)


def gguf(kvs, tensors=()):
    """tensors: (name, dims) in GGUF order (innermost first), F32 zeros."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
    infos, data = b"", b""
    for name, dims in tensors:
        n = 1
        for d in dims:
            n *= d
        infos += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", 0, len(data))  # dtype F32, offset
        data += struct.pack("<%df" % n, *([0.01] * n))
        data += b"\0" * (-len(data) % ALIGN)
    out = head + infos
    out += b"\0" * (-len(out) % ALIGN)
    return out + data


CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
TOKENS = ["a", "b", "ab", "Ġ", "Ġa", "<|im_start|>", "<|im_end|>", "<|endoftext|>"]
TYPES = [1, 1, 1, 1, 1, 3, 3, 3]
E, V = 8, len(TOKENS)

bare = [kv("general.architecture", STRING, "llama"), kv("general.name", STRING, "tiny")]
config = [
    kv("llama.block_count", U32, 1),
    kv("llama.embedding_length", U32, E),
    kv("llama.attention.head_count", U32, 2),
    kv("llama.attention.head_count_kv", U32, 1),
    kv("llama.context_length", U32, 64),
    kv("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
    kv("llama.rope.freq_base", F32, 10000.0),
    kv("general.alignment", U32, ALIGN),
]
tok = [
    kv("tokenizer.ggml.model", STRING, "gpt2"),
    kv("tokenizer.ggml.pre", STRING, "smollm"),
    kv("tokenizer.ggml.tokens", ARRAY, (STRING, TOKENS)),
    kv("tokenizer.ggml.token_type", ARRAY, (I32, TYPES)),
    kv("tokenizer.ggml.merges", ARRAY, (STRING, ["a b", "Ġ a"])),
    kv("tokenizer.ggml.bos_token_id", U32, 7),
    kv("tokenizer.ggml.eos_token_id", U32, 6),
    kv("tokenizer.ggml.add_bos_token", BOOL, False),
    kv("tokenizer.chat_template", STRING, CHATML),
]
tensors = [("token_embd.weight", [E, V]), ("output_norm.weight", [E])]
for name, dims in [("attn_q", [E, E]), ("attn_k", [E, 4]), ("attn_v", [E, 4]),
                   ("attn_output", [E, E]), ("ffn_gate", [E, 16]), ("ffn_up", [E, 16]),
                   ("ffn_down", [16, E]), ("attn_norm", [E]), ("ffn_norm", [E])]:
    tensors.append((f"blk.0.{name}.weight", dims))

os.makedirs("gguf", exist_ok=True)
for name, blob in [("bare.gguf", gguf(bare)),
                   ("metadata.gguf", gguf(bare + config + tok)),
                   ("model.gguf", gguf(bare + config + tok, tensors))]:
    with open(os.path.join("gguf", name), "wb") as f:
        f.write(blob)
    print(name, len(blob))
