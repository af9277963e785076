"""Extraction speed and memory: extract_batch vs the bare trunk and the naive way, in one run.

    python benchmarks/bench_extract.py [--model smollm2-135m] [--shapes 8x256,1x2048] [--repeats 6]
    python benchmarks/bench_extract.py --model random:qwen2.5-7b --shapes 1x8192,16x512   # on a GPU, bf16
    python benchmarks/bench_extract.py --padding-only --traces FILE.jsonl                 # tokenizer only

On CUDA the run ends with the goals of the accelerator path: lean >= 0.94x bare at 1x8192 and >= 0.85x at 16x512,
with a peak at most 1.5 GiB over bare's.

``random:qwen2.5-7b`` is a random-initialized model of Qwen2.5-7B's shape (152k vocabulary) with a small
byte-level BPE tokenizer trained here on the example trace, so it needs no download and no other package.

bare  : model.model(ids), the transformer trunk alone (no LM head): the ceiling.
naive : model(ids, output_hidden_states=True) and a full-vocabulary log_softmax (every layer, tokens x vocab).
lean  : reasongraph.extract_batch (a hook on one layer, entropy streamed over vocabulary tiles, steps, numpy
        copies), with one forward pass per shape as bare has.
eager : lean with the eager entropy head (CUDA only; lean compiles the head there).
All three see the same input ids (BOS + text, as extract_batch builds them).
Peak memory on CPU is the largest resident-set growth over the state before the call, sampled every 2 ms, in a
fresh process per method; on CUDA it is torch's peak allocation over the allocation before the call (the weights
and little else). Timings run the methods round-robin in one process and report the median.

Padded share: with ``--traces`` (default: the SkyThought MATH500 traces in the shared folder beside the checkout,
when present), the share of padding tokens in the forward passes of scoring's chunks (16 records or 32k
characters, in file order), batched in input order (no bucketing), sorted within each chunk (today) and sorted over
larger windows, at the CPU and the CUDA token budgets; token counts come from the benchmarked model's tokenizer.
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
from reasongraph.models import head_entropy
from reasongraph.trace.extraction.forward import _padded_inputs
from reasongraph.trace.extraction.batching import default_batch_tokens, length_batches, pass_cost_tokens, padding_share
from reasongraph.trace.extraction.encode import encode
from reasongraph.trace.extraction.layers import resolve_layers
from reasongraph.models.device import resolve_device_dtype

DEFAULT_TRACES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "traces",
                              "skythought_math500_matched.jsonl")
GOALS = {"1x8192": 0.94, "16x512": 0.85}  # lean over bare, tok/s, on CUDA
PEAK_GOAL_GIB = 1.5  # lean's peak over bare's, on CUDA


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
    """One call of ``method`` on ``texts`` (tokenizing included, for every method); returns the tokens run."""
    if method in ("lean", "eager"):
        head_entropy.FUSED_ON_CUDA = method == "lean"
        traces = rg.extract_batch(texts, model=lm, layers=(layer,), batch_tokens=sys.maxsize)  # one pass, as bare
        head_entropy.FUSED_ON_CUDA = True
        return sum(len(t.input_ids) for t in traces)
    ids, mask = _padded_inputs([encode(lm, t, None) for t in texts], lm, pinned=False)
    ids, mask = ids.to(lm.device), mask.to(lm.device)
    with torch.inference_mode():
        if method == "bare":
            lm.model.model(input_ids=ids, attention_mask=mask, use_cache=False)
        else:
            out = lm.model(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False)
            logp = torch.log_softmax(out.logits.float(), -1)
            (-(logp.exp() * logp).sum(-1)).cpu().numpy(), out.hidden_states[layer].float().cpu().numpy()
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
    ap.add_argument("--traces", default=DEFAULT_TRACES, help="records (JSONL...) for the padded-share line")
    ap.add_argument("--prompt-field", default="problem", help="the prompt field of --traces")
    ap.add_argument("--padding-only", action="store_true", help="print the padded shares and stop")
    ap.add_argument("--peak-of", choices=METHODS, help=argparse.SUPPRESS)  # internal: one CPU peak, in this process
    args = ap.parse_args()
    device, dtype = resolve_device_dtype(args.device, args.dtype)
    lm = random_qwen(device, dtype) if args.model == "random:qwen2.5-7b" else rg.load_model(args.model, device=device, dtype=dtype)
    layer = resolve_layers((0.9,), lm.num_layers)[0]
    if args.peak_of:
        print(cpu_peak(lm, token_texts(lm, *map(int, args.shapes.split("x"))), args.peak_of, layer))
        return
    if args.padding_only:
        print_padding(lm, args.traces, args.prompt_field)
        return
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    weights = sum(p.numel() * p.element_size() for p in lm.model.parameters()) / 2**30
    print(f"{lm.name} ({weights:.2f} GiB of weights), {where}, {dtype}, layer {layer}")
    print(f"{'shape':>8} {'method':>6} {'tok/s':>8} {'x bare':>7} {'peak MiB':>9} {'over bare':>9}  ceiling")
    results = {}
    for shape in args.shapes.split(","):
        b, n = map(int, shape.split("x"))
        methods = METHODS + (("eager",) if device.type == "cuda" else ())
        rates, peaks = time_methods(lm, token_texts(lm, b, n), layer, args.repeats, methods)
        if device.type == "cpu":
            peaks = {m: _cpu_peak_in_new_process(args, shape, m) for m in methods}
        ceiling = 1 / (1 + head_flop_share(lm.model, n))
        for m in methods:
            print(f"{shape:>8} {m:>6} {rates[m]:8.0f} {rates[m] / rates['bare']:7.2f} {peaks[m]:9.0f} "
                  f"{peaks[m] - peaks['bare']:9.0f}" + (f"  {ceiling:.2f}x" if m == "lean" else ""))
        results[shape] = (rates["lean"] / rates["bare"], (peaks["lean"] - peaks["bare"]) / 1024)
    print("ceiling: bare / (bare + LM head) in FLOPs (weights and causal attention), lean's best at the trunk's rate")
    if device.type == "cuda":
        print_goals(results)
    print_padding(lm, args.traces, args.prompt_field)


def print_goals(results: dict) -> None:
    """The accelerator path's goals, met or missed, for the shapes measured."""
    for shape, goal in GOALS.items():
        if shape in results:
            ratio, over = results[shape]
            met = ratio >= goal and over <= PEAK_GOAL_GIB
            print(f"goal {shape}: lean {ratio:.2f}x bare (goal >= {goal}), peak {over:+.2f} GiB over bare (goal <= "
                  f"{PEAK_GOAL_GIB}): {'met' if met else 'MISSED'}")


def head_flop_share(model, n: int) -> float:
    """FLOPs of the LM head over those of the trunk per token of a sequence of ``n``: 2 per weight, plus causal
    attention (scores and values: 2 x 2 x (n + 1) / 2 x heads x head_dim per layer, the mean context)."""
    config = model.config
    head = model.get_output_embeddings().weight
    embed = model.get_input_embeddings().weight
    weights = sum(p.numel() for p in model.get_decoder().parameters() if p.dim() == 2 and p is not embed)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    attention = config.num_hidden_layers * (n + 1) * config.num_attention_heads * head_dim
    return head.numel() / (weights + attention)


def print_padding(lm, path: str, prompt_field: str) -> None:
    """Padded share and passes of scoring's forward passes on the records of ``path``, at the CPU and the CUDA
    defaults: in input order, sorted and filled greedily (extract_batch before the bucketing) and bucketed
    (length_batches with the device's pass cost) per scoring chunk and over larger windows."""
    import warnings

    from reasongraph.runs.records.reader import RecordReader
    from reasongraph.runs.scoring.chunks import CHUNK_CHARS, DEFAULT_CHUNK

    if not os.path.isfile(path):
        print(f"padded share: {path} is absent; give --traces FILE")
        return
    recs = [r for r in RecordReader(path, prompt_field=prompt_field) if r.ok]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation, as scoring with truncate=True does
        lengths = [len(encode(lm, r.text, r.prompt, truncate=True).input_ids) for r in recs]
    chunks = scoring_chunks([r.size for r in recs], DEFAULT_CHUNK, CHUNK_CHARS)
    print(f"padded share (passes) of {len(recs)} records of {os.path.basename(path)}, {sum(lengths)} tokens "
          f"({lm.name} tokenizer), scoring's chunks of {DEFAULT_CHUNK} records or {CHUNK_CHARS} characters:")
    for device in ("cpu", "cuda"):
        budget, cost = default_batch_tokens(device), pass_cost_tokens(device)
        cells = [("input order", padded(lengths, chunks, lambda x: input_order_batches(x, budget))),
                 ("sorted, greedy (before)", padded(lengths, chunks, lambda x: greedy_batches(x, budget)))]
        bucketed = lambda x: length_batches(x, batch_tokens=budget, pass_tokens=cost)  # noqa: E731
        cells.append(("bucketed per chunk", padded(lengths, chunks, bucketed)))
        for window in (64, len(recs)):
            cells.append((f"per {window} records", padded(lengths, windows(len(recs), window), bucketed)))
        print(f"  {device} (budget {budget}, pass cost {cost}): "
              + "; ".join(f"{name} {share:.1%} ({n})" for name, (share, n) in cells))


def scoring_chunks(sizes: list[int], records: int, chars: int) -> list[list[int]]:
    """Consecutive record indices as scoring's pass 1 groups them for one extract_batch call each."""
    chunks, cur, total = [], [], 0
    for i, size in enumerate(sizes):
        cur.append(i)
        total += size
        if len(cur) >= records or total >= chars:
            chunks.append(cur)
            cur, total = [], 0
    return chunks + ([cur] if cur else [])


def windows(n: int, size: int) -> list[list[int]]:
    return [list(range(a, min(n, a + size))) for a in range(0, n, size)]


def padded(lengths: list[int], chunks: list[list[int]], batcher) -> tuple[float, int]:
    """(padded share, forward passes) of batching each chunk's lengths with ``batcher``."""
    batches = []
    for chunk in chunks:
        batches += [[chunk[j] for j in group] for group in batcher([lengths[i] for i in chunk])]
    return padding_share(lengths, batches), len(batches)


def greedy_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """extract_batch's batching before length_batches: sorted, each batch filled while rows x longest fits."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [[order[j] for j in b] for b in input_order_batches([lengths[i] for i in order], budget)]


def input_order_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """Consecutive indices while rows x longest fits the budget."""
    batches: list[list[int]] = []
    for i, n in enumerate(lengths):
        if batches and (len(batches[-1]) + 1) * max(n, *(lengths[j] for j in batches[-1])) <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def time_methods(lm, texts, layer: int, repeats: int, methods: tuple = METHODS) -> tuple[dict, dict]:
    """Median tokens/s per method, run round-robin so drift in machine load hits every method alike, with the
    order rotated each repeat so no method always follows the memory-hungry naive one; on CUDA also the median peak
    allocation over the weights (MiB)."""
    cuda = lm.device.type == "cuda"
    for m in methods:
        run(lm, texts, m, layer)  # warm-up at the timed shape: on CUDA the head compiles for it here
    times, peaks = {m: [] for m in methods}, {m: [] for m in methods}
    for r in range(repeats):
        for m in methods[r % len(methods):] + methods[:r % len(methods)]:
            gc.collect()
            with PeakCUDA() if cuda else contextlib.nullcontext() as mem:
                t = time.perf_counter()
                tokens = run(lm, texts, m, layer)
                if cuda:
                    torch.cuda.synchronize()
                times[m].append(time.perf_counter() - t)
            peaks[m].append(mem.peak if cuda else float("nan"))
    return ({m: tokens / statistics.median(times[m]) for m in methods},
            {m: statistics.median(peaks[m]) for m in methods})


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
