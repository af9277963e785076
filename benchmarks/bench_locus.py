"""Benchmark ``reasongraph locus`` against two plain forward passes measured in the same process.

A fresh subprocess runs ``rg.locus`` on A = the default model and B = A with its head and every block changed a
little (saved as a model folder, so B loads from disk like any checkpoint; the embeddings are shared, as under a
LoRA adapter, so the patched runs at l = 0 are skipped as they are there), reads its peak
resident memory (VmHWM) right after, then times plain forward passes (``model(input_ids).logits``, one text at a
time, as locus runs them) of A and of B over the same texts. Printed:

- passes + head swap: locus's own pass of each model (capturing every needed layer) plus both head swaps (l = L),
  over the two plain passes, timed in turns with them (best of ``--repeats``: the CPU may be shared), the goal
  being at most 1.5x; two passes of reasongraph's extraction (its tiled entropy head) are shown beside them;
- patching at stride s, the lens (three lenses: A, B, A's head on B), the temperature fit and the similarities,
  each over the two plain passes;
- peak RSS against one model's parameters (the goal: at most one model + 1 GiB above the process's start).

    python benchmarks/bench_locus.py                         # 4 texts of about 256 tokens, SmolLM2
    python benchmarks/bench_locus.py --model tiny-random     # a quick smoke run
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

from harness import FIXTURE, peak_rss_mib, run_child


def _texts(path: Path, n: int, chars: int) -> list[str]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["trace"][:chars] for r in records[:n]]


def _best(work, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t0)
    return best


def _interleaved(spec: dict, texts: list[str]) -> dict:
    """Plain passes, locus's own passes and the head swaps, timed in turns (best of ``repeats`` each), A then B
    then A, one model loaded at a time: the ratio of the passes + head swap to two plain passes, with the
    machine's load the same for both."""
    import torch

    import reasongraph as rg
    from reasongraph.trace.extraction.encode import encode
    from reasongraph.train.locus.model_passes import make_plan, own_pass, patch_pass
    from reasongraph.train.locus.layer_store import LayerStore

    out = {"plain_s": 0.0, "entropy_pass_s": 0.0, "own_s": 0.0, "swap_s": 0.0}
    store, plan, inputs = LayerStore(Path(tempfile.mkdtemp(prefix="bench_locus-states-"))), None, None
    for phase, (spec_, tag, other) in enumerate(((spec["a"], "A", None), (spec["b"], "B", "A"), (spec["a"], "A", "B"))):
        lm = rg.load_model(spec_, device="cpu", dtype="float32")
        if plan is None:
            enc = [encode(lm, t, None) for t in texts]
            inputs = [e.input_ids for e in enc]
            plan = make_plan([len(x) for x in inputs], [e.prompt_len for e in enc], lm.num_layers,
                             layer_stride=spec["layer_stride"], patch_stride=spec["patch_stride"], max_tokens=4096,
                             seed=0, temperature=1.0)
        ids = [torch.tensor([x]) for x in inputs]

        def plain() -> None:
            with torch.inference_mode():
                for x in ids:
                    lm.model(input_ids=x, use_cache=False).logits  # noqa: B018 - the work being timed

        def own() -> None:
            scratch = LayerStore(Path(tempfile.mkdtemp(prefix="bench_locus-scratch-")))
            own_pass(lm, inputs, plan, scratch, tag)
            scratch.remove()

        if phase < 2:
            out["plain_s"] += _best(plain, spec["repeats"])
            out["entropy_pass_s"] += _best(lambda: rg.extract_batch(texts, model=lm, batch_size=1, layers=(1,)),
                                           spec["repeats"])
            out["own_s"] += _best(own, spec["repeats"])
            own_pass(lm, inputs, plan, store, tag)  # the states the head swaps read (not timed)
        if other is not None:
            swap = dataclasses.replace(plan, patch_layers=(plan.n_layers,))
            out["swap_s"] += _best(lambda: patch_pass(lm, inputs, swap, store, other), spec["repeats"])
        del lm
    store.remove()
    return out


def child(spec: dict) -> None:
    """locus and its peak RSS, then the interleaved timings (in the same fresh process): one JSON line."""
    import reasongraph as rg

    texts = _texts(Path(spec["input"]), spec["texts"], spec["chars"])
    result = rg.locus(spec["a"], spec["b"], texts, layer_stride=spec["layer_stride"],
                      patch_stride=spec["patch_stride"], n_boot=200, device="cpu", dtype="float32")
    data = result.as_dict()
    peak = peak_rss_mib()
    print(json.dumps({**data["timings"], **data["memory"], "peak_locus_mib": peak, **_interleaved(spec, texts),
                      "tokens": data["scopes"][0]["n_tokens"], "layers": data["options"]["n_layers"],
                      "t_star": data["scopes"][0]["summary"]["t_star"]}))


def _make_b(a: str, folder: Path) -> str:
    """B = A with its final norm's weight scaled by 1/0.6 and every block's MLP output scaled by 1.02 (a change of
    the head and of every block, the embeddings shared as under a LoRA adapter), saved as a model folder."""
    import torch

    import reasongraph as rg

    lm = rg.load_model(a, device="cpu", dtype="float32")
    with torch.no_grad():
        lm.model.model.norm.weight.mul_(1 / 0.6)
        for block in lm.model.model.layers:
            block.mlp.down_proj.weight.mul_(1.02)
    lm.model.save_pretrained(folder)
    lm.tokenizer.save_pretrained(folder)
    return str(folder)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m", help="A (B is A with its head and blocks changed)")
    p.add_argument("--input", type=Path, default=FIXTURE)
    p.add_argument("--texts", type=int, default=4)
    p.add_argument("--chars", type=int, default=1000, help="characters of each text (about 4 a token)")
    p.add_argument("--layer-stride", type=int, default=5)
    p.add_argument("--patch-stride", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_locus-"))
    spec = {"a": args.model, "b": _make_b(args.model, tmp / "B"), "input": str(args.input), "texts": args.texts,
            "chars": args.chars, "layer_stride": args.layer_stride, "patch_stride": args.patch_stride,
            "repeats": args.repeats}
    r = run_child(__file__, spec)
    base = r["plain_s"]
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(f"locus: {args.model}, {args.texts} texts, {r['tokens']} predicted tokens, {r['layers']} layers; lens every "
          f"{args.layer_stride}, patching every {args.patch_stride}; OMP_NUM_THREADS={threads}")
    print(f"two plain forward passes (A + B, model(ids).logits, best of {args.repeats}): {base:.2f} s; two passes "
          f"of reasongraph's extraction (tiled entropy head): {r['entropy_pass_s']:.2f} s "
          f"({r['entropy_pass_s'] / base:.2f}x)")
    print(f"timed in turns with them: locus's own passes {r['own_s']:.2f} s, both head swaps {r['swap_s']:.2f} s: "
          f"passes + head swap = {(r['own_s'] + r['swap_s']) / base:.2f}x two plain passes (goal <= 1.5x)")
    print("the whole locus run, each part once (the machine's load may differ from the turns above):")
    rows = [("passes + head swap", r["passes_s"] + r["head_swap_s"]),
            (f"patching, stride {args.patch_stride}", r["patch_s"]), ("lens (3 lenses)", r["lens_s"]),
            ("temperature fit", r["temperature_s"]), ("similarities", r["similarity_s"]),
            ("model loads (3)", r["load_s"]), ("whole run", r["total_s"])]
    print(f"{'part':<24}{'seconds':>10}{'x two passes':>15}")
    for name, seconds in rows:
        print(f"{name:<24}{seconds:>10.2f}{seconds / base:>14.2f}x")
    above = r["peak_locus_mib"] - r["rss_start_mib"]
    print(f"peak RSS {r['peak_locus_mib']:.0f} MiB ({above:.0f} MiB above the start of the run); one model "
          f"{r['model_mib']:.0f} MiB; goal: one model + 1 GiB = {r['model_mib'] + 1024:.0f} MiB above the start; "
          f"layer states on disk {r['states_mib']:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
