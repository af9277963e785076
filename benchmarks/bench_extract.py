"""Extraction speed and memory: extract_batch vs the bare trunk and the naive way, in one run.

    python benchmarks/bench_extract.py [--model smollm2-135m] [--shapes 8x256,1x2048] [--repeats 3]

bare  : model.model(ids), the transformer trunk alone (no LM head): the ceiling.
naive : model(ids, output_hidden_states=True) and a full-vocabulary log_softmax (every layer, tokens x vocab).
lean  : reasongraph.extract_batch (hooks on one layer, chunked float64 entropy, steps, numpy copies).
Peak memory is the largest resident-set growth over the state before each call, sampled every 2 ms.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import threading
import time

import torch

import reasongraph as rg
from reasongraph.extraction import resolve_layers


class PeakRSS:
    """Samples the process's resident set size in a thread; .peak is the growth over the start, in MiB."""

    def __enter__(self):
        self.start = self.peak_bytes = _rss()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak_bytes = max(self.peak_bytes, _rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = (max(self.peak_bytes, _rss()) - self.start) / 2**20


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def token_texts(lm, batch: int, length: int) -> list[str]:
    """``batch`` texts of exactly ``length`` tokens each, cut from the example trace repeated."""
    base = open(os.path.join(os.path.dirname(__file__), "..", "examples", "trace.txt")).read()
    ids = lm.tokenizer(base * (1 + length * batch // 200), add_special_tokens=False)["input_ids"]
    return [lm.tokenizer.decode(ids[i * length:(i + 1) * length]) for i in range(batch)]


def run(lm, texts, method: str, layer: int):
    enc = lm.tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    with torch.inference_mode():
        if method == "bare":
            lm.model.model(input_ids=ids, attention_mask=mask, use_cache=False)
        elif method == "naive":
            out = lm.model(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False)
            logp = torch.log_softmax(out.logits.float(), -1)
            (-(logp.exp() * logp).sum(-1)).numpy(), out.hidden_states[layer].numpy()
        else:
            rg.extract_batch(texts, model=lm, layers=(layer,), batch_size=len(texts))
    return int(mask.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--shapes", default="8x256,1x2048")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    lm = rg.load_model(args.model, device="cpu", dtype="float32")
    layer = resolve_layers((0.9,), lm.num_layers)[0]
    print(f"{lm.name}, CPU float32, torch threads {torch.get_num_threads()}, layer {layer}")
    print(f"{'shape':>8} {'method':>6} {'tok/s':>8} {'x bare':>7} {'peak MiB':>9}")
    for shape in args.shapes.split(","):
        b, n = map(int, shape.split("x"))
        texts = token_texts(lm, b, n)
        results = {}
        for method in ("bare", "naive", "lean"):
            run(lm, texts[:1], method, layer)  # warm-up
            times, peaks = [], []
            for _ in range(args.repeats):
                gc.collect()
                with PeakRSS() as mem:
                    t = time.perf_counter()
                    tokens = run(lm, texts, method, layer)
                    times.append(time.perf_counter() - t)
                peaks.append(mem.peak)
            results[method] = (tokens / statistics.median(times), statistics.median(peaks))
        for method, (rate, peak) in results.items():
            print(f"{shape:>8} {method:>6} {rate:8.0f} {rate / results['bare'][0]:7.2f} {peak:9.0f}")


if __name__ == "__main__":
    main()
