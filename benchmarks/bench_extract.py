"""Extraction speed and memory: extract_batch vs the bare trunk and the naive way, in one run.

    python benchmarks/bench_extract.py [--model smollm2-135m] [--shapes 8x256,1x2048] [--repeats 6]
    python benchmarks/bench_extract.py --model random:qwen2.5-7b --shapes 1x8192,16x512   # on a GPU, bf16

``random:qwen2.5-7b`` is a random-initialized model of Qwen2.5-7B's shape (152k vocabulary) with a small
byte-level BPE tokenizer trained here on the example trace, so it needs no download and no other package.

bare  : model.model(ids), the transformer trunk alone (no LM head): the ceiling.
naive : model(ids, output_hidden_states=True) and a full-vocabulary log_softmax (every layer, tokens x vocab).
lean  : reasongraph.extract_batch (a hook on one layer, entropy streamed over vocabulary tiles, steps, numpy
        copies).
Peak memory on CPU is the largest resident-set growth over the state before the call, sampled every 2 ms, in a
fresh process per method; on CUDA it is torch's peak allocation over the allocation before the call (the weights
and little else). Timings run the methods round-robin in one process and report the median.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import threading
import time

import torch

import reasongraph as rg
from reasongraph.extraction import resolve_layers
from reasongraph.models import resolve_device_dtype


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


class PeakCUDA:
    """torch's peak CUDA allocation during the block, over the allocation at its start, in MiB."""

    def __enter__(self):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        self.start = torch.cuda.memory_allocated()
        return self

    def __exit__(self, *exc):
        torch.cuda.synchronize()
        self.peak = (torch.cuda.max_memory_allocated() - self.start) / 2**20


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


QWEN25_7B = dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                 num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768, rope_theta=1e6,
                 tie_word_embeddings=False)


def random_qwen(device, dtype) -> rg.LoadedModel:
    """A random-initialized Qwen2 of Qwen2.5-7B's shape, built on the device in its dtype."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator([_example_trace()], trainers.BpeTrainer(
        vocab_size=2000, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", pad_token="<|endoftext|>")
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # built in its dtype on the device: no float32 copy of 7B weights
    try:
        with torch.device(device):
            model = Qwen2ForCausalLM(Qwen2Config(**QWEN25_7B)).eval().requires_grad_(False)
    finally:
        torch.set_default_dtype(default)
    return rg.LoadedModel(model=model, tokenizer=tokenizer, name="random-qwen2.5-7b-shape", device=device,
                          dtype=dtype)


def _example_trace() -> str:
    return open(os.path.join(os.path.dirname(__file__), "..", "examples", "trace.txt")).read()


def token_texts(lm, batch: int, length: int) -> list[str]:
    """``batch`` texts of exactly ``length`` tokens each, cut from the example trace repeated."""
    ids = lm.tokenizer(_example_trace() * (1 + length * batch // 200), add_special_tokens=False)["input_ids"]
    return [lm.tokenizer.decode(ids[i * length:(i + 1) * length]) for i in range(batch)]


def run(lm, texts, method: str, layer: int):
    enc = lm.tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"].to(lm.device), enc["attention_mask"].to(lm.device)
    with torch.inference_mode():
        if method == "bare":
            lm.model.model(input_ids=ids, attention_mask=mask, use_cache=False)
        elif method == "naive":
            out = lm.model(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False)
            logp = torch.log_softmax(out.logits.float(), -1)
            (-(logp.exp() * logp).sum(-1)).cpu().numpy(), out.hidden_states[layer].float().cpu().numpy()
        else:
            rg.extract_batch(texts, model=lm, layers=(layer,), batch_size=len(texts))
    return int(mask.sum())


METHODS = ("bare", "naive", "lean")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--shapes", default="8x256,1x2048")
    ap.add_argument("--repeats", type=int, default=6, help="timed calls per method (a multiple of 3 rotates "
                                                            "the order fully)")
    ap.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    ap.add_argument("--dtype", default=None, help="default: bfloat16 on cuda, float32 on cpu")
    ap.add_argument("--peak-of", choices=METHODS, help=argparse.SUPPRESS)  # internal: one CPU peak, in this process
    args = ap.parse_args()
    device, dtype = resolve_device_dtype(args.device, args.dtype)
    lm = random_qwen(device, dtype) if args.model == "random:qwen2.5-7b" else rg.load_model(args.model, device, dtype)
    layer = resolve_layers((0.9,), lm.num_layers)[0]
    if args.peak_of:
        print(cpu_peak(lm, token_texts(lm, *map(int, args.shapes.split("x"))), args.peak_of, layer))
        return
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    weights = sum(p.numel() * p.element_size() for p in lm.model.parameters()) / 2**30
    print(f"{lm.name} ({weights:.2f} GiB of weights), {where}, {dtype}, layer {layer}")
    share = head_flop_share(lm.model)
    print(f"LM head = {share:.0%} of the trunk's matmul FLOPs (attention scores excluded): at the trunk's FLOP rate, "
          f"lean can reach {1 / (1 + share):.2f}x bare")
    print(f"{'shape':>8} {'method':>6} {'tok/s':>8} {'x bare':>7} {'peak MiB':>9}")
    for shape in args.shapes.split(","):
        b, n = map(int, shape.split("x"))
        rates, peaks = time_methods(lm, token_texts(lm, b, n), layer, args.repeats)
        if device.type == "cpu":
            peaks = {m: _cpu_peak_in_new_process(args, shape, m) for m in METHODS}
        for m in METHODS:
            print(f"{shape:>8} {m:>6} {rates[m]:8.0f} {rates[m] / rates['bare']:7.2f} {peaks[m]:9.0f}")


def head_flop_share(model) -> float:
    """FLOPs of the LM head over those of the trunk's weight matrices, per token (2 per weight either way)."""
    head = model.get_output_embeddings().weight
    embed = model.get_input_embeddings().weight
    trunk = sum(p.numel() for p in model.get_decoder().parameters() if p.dim() == 2 and p is not embed)
    return head.numel() / trunk


def time_methods(lm, texts, layer: int, repeats: int) -> tuple[dict, dict]:
    """Median tokens/s per method, run round-robin so drift in machine load hits every method alike, with the
    order rotated each repeat so no method always follows the memory-hungry naive one; on CUDA also the median peak
    allocation over the weights (MiB)."""
    cuda = lm.device.type == "cuda"
    for m in METHODS:
        run(lm, texts[:1], m, layer)  # warm-up
    times, peaks = {m: [] for m in METHODS}, {m: [] for m in METHODS}
    for r in range(repeats):
        for m in METHODS[r % len(METHODS):] + METHODS[:r % len(METHODS)]:
            gc.collect()
            with PeakCUDA() if cuda else contextlib.nullcontext() as mem:
                t = time.perf_counter()
                tokens = run(lm, texts, m, layer)
                if cuda:
                    torch.cuda.synchronize()
                times[m].append(time.perf_counter() - t)
            peaks[m].append(mem.peak if cuda else float("nan"))
    return ({m: tokens / statistics.median(times[m]) for m in METHODS},
            {m: statistics.median(peaks[m]) for m in METHODS})


def cpu_peak(lm, texts, method: str, layer: int) -> float:
    """Resident-set growth (MiB) of one call after a warm-up."""
    run(lm, texts[:1], method, layer)
    gc.collect()
    with PeakRSS() as mem:
        run(lm, texts, method, layer)
    return mem.peak


def _cpu_peak_in_new_process(args, shape: str, method: str) -> float:
    """A fresh process per method: memory that the allocator keeps after one method would hide the next's peak."""
    cmd = [sys.executable, __file__, "--model", args.model, "--shapes", shape, "--peak-of", method, "--device", "cpu"]
    if args.dtype:
        cmd += ["--dtype", args.dtype]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


if __name__ == "__main__":
    main()
