"""One model's work in a locus run: its own pass over every text, its logit lens, its patched passes and the
temperature fit, with the layer states exchanged through a :class:`~reasongraph.train.locus.layer_store.LayerStore`.

A :class:`Plan` fixes, before any model runs, what every pass keeps: the lens layers (a stride over 0..L, L always
included), the patch layers (another stride), and a seeded sample of at most ``max_tokens`` predicted tokens,
the same for both models. One forward pass per model per text captures everything (:func:`own_pass`): the sampled
rows of each lens layer, the full sequence at each patch layer, and the model's own entropy of every predicted
token. The lens (:func:`lens`) then reads one layer of sampled rows at a time from disk.

Token i of a text is predicted by position i - 1 of its input (prompt tokens first). Texts run one at a time,
unpadded, so no padding changes what a model computes.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasongraph.models.head_entropy import entropy_tensors
from reasongraph.train.locus.head_on_residuals import residual_entropy, residual_entropy_grid
from reasongraph.train.locus.layer_store import LayerStore
from reasongraph.train.locus.residuals import capture_residuals, decoder_output, start_at
from reasongraph.train.locus.temperature_fit import fit_temperature

__all__ = ["Plan", "lens", "make_plan", "own_pass", "patch_pass", "strided_layers", "temperature_fit"]


@dataclass(frozen=True)
class Plan:
    """What every pass keeps (the same for both models).

    Attributes
    ----------
    n_layers : L, the number of blocks.
    lens_layers, patch_layers : increasing indices into 0..L, each ending at L.
    starts : per text, the index of its first predicted token (the prompt's length, at least 1).
    lengths : per text, its number of input tokens.
    sample : per text, the sampled predictor positions (increasing).
    temperature : entropies are those of softmax(z / temperature).
    """

    n_layers: int
    lens_layers: tuple[int, ...]
    patch_layers: tuple[int, ...]
    starts: tuple[int, ...]
    lengths: tuple[int, ...]
    sample: tuple[np.ndarray, ...]
    temperature: float

    @property
    def sample_text(self) -> np.ndarray:
        """(m,) the text of each sampled row, in row order."""
        return np.repeat(np.arange(len(self.sample)), [len(s) for s in self.sample])

    def n_predicted(self, i: int) -> int:
        return self.lengths[i] - self.starts[i]


def strided_layers(n_layers: int, stride: int) -> tuple[int, ...]:
    """0, stride, 2 stride, ... up to L, and L itself."""
    return tuple(sorted(set(range(0, n_layers + 1, stride)) | {n_layers}))


def make_plan(lengths: Sequence[int], prompt_lengths: Sequence[int], n_layers: int, *, layer_stride: int,
              patch_stride: int, max_tokens: int, seed: int, temperature: float) -> Plan:
    """The plan for texts of these input and prompt lengths: a uniform sample, without replacement and seeded, of
    at most ``max_tokens`` of all predicted tokens (all of them when there are fewer)."""
    starts = [max(int(p), 1) for p in prompt_lengths]
    n_pred = np.array([max(int(n) - s, 0) for n, s in zip(lengths, starts)], dtype=np.int64)
    total = int(n_pred.sum())
    chosen = np.arange(total) if total <= max_tokens else \
        np.sort(np.random.default_rng(seed).choice(total, size=max_tokens, replace=False))
    bounds = np.concatenate([[0], np.cumsum(n_pred)])
    sample = tuple(chosen[(chosen >= a) & (chosen < b)] - a + s - 1 for a, b, s in zip(bounds[:-1], bounds[1:], starts))
    return Plan(n_layers=n_layers, lens_layers=strided_layers(n_layers, layer_stride),
                patch_layers=strided_layers(n_layers, patch_stride), starts=tuple(starts),
                lengths=tuple(int(n) for n in lengths), sample=sample, temperature=float(temperature))


def _ids(lm: Any, input_ids: Sequence[int]) -> Any:
    import torch

    return torch.tensor([list(input_ids)], dtype=torch.long, device=lm.device)


def _entropies(lm: Any, final: Any, ids: Any, start: int, temperature: float) -> np.ndarray:
    """Entropies of the predicted tokens start..n-1 from the decoder's (normed) last hidden state."""
    n = ids.shape[-1]
    if n <= start:
        return np.zeros(0)
    entropy, _ = entropy_tensors(lm.model, final[start - 1:n - 1], ids[0, start:n], temperature)
    return entropy.double().cpu().numpy()


def own_pass(lm: Any, inputs: Sequence[Sequence[int]], plan: Plan, store: LayerStore, tag: str) -> list[np.ndarray]:
    """One forward pass of ``lm`` per text: writes ``{tag}.sample.{l}`` (the sampled rows, one block per text) for
    each lens layer and ``{tag}.full.{l}`` (every position) for each patch layer; returns each text's own
    entropies of its predicted tokens (float64)."""
    import torch

    lens_set, patch_set = set(plan.lens_layers), set(plan.patch_layers)
    out = []
    for i, input_ids in enumerate(inputs):
        rows = torch.as_tensor(plan.sample[i], dtype=torch.long, device=lm.device)

        def sink(layer: int, h: Any) -> None:
            if layer in lens_set:
                store.append(f"{tag}.sample.{layer}", h[0, rows].float().cpu().numpy())
            if layer in patch_set:
                store.append(f"{tag}.full.{layer}", h[0].float().cpu().numpy())

        ids = _ids(lm, input_ids)
        with torch.inference_mode(), capture_residuals(lm.model, sorted(lens_set | patch_set), sink):
            final = decoder_output(lm.model, ids)[0]
            out.append(_entropies(lm, final, ids, plan.starts[i], plan.temperature))
    return out


def lens(lm: Any, store: LayerStore, tag: str, plan: Plan) -> np.ndarray:
    """(n_lens_layers, m): ``lm``'s head (its final norm and unembedding) on the sampled rows of model ``tag``'s
    trunk at each lens layer, one layer read from disk at a time."""
    return np.stack([residual_entropy(lm, store.read(f"{tag}.sample.{layer}"), temperature=plan.temperature)
                     for layer in plan.lens_layers]) if plan.lens_layers else np.zeros((0, 0))


def patch_pass(lm: Any, inputs: Sequence[Sequence[int]], plan: Plan, store: LayerStore, source: str, *,
               own: str | None = None, own_entropy: Sequence[np.ndarray] | None = None
               ) -> tuple[np.ndarray, dict[str, float]]:
    """``lm`` run from model ``source``'s h_l at each patch layer l, on every text's full sequence.

    With ``own`` (``lm``'s own tag in the store) and ``own_entropy`` (its own pass's entropies), a text whose state
    at l is bitwise the same in both models is not run: ``lm`` would compute exactly its own pass (shared
    embeddings, or layers before a change). Returns the (n_patch_layers, n_texts) sums of the predicted tokens'
    entropies, and {"head_swap", "patch"} (seconds: the head swap at l = L, the other layers) with "runs" and
    "skipped" (patched runs done and saved).
    """
    import torch

    sums = np.zeros((len(plan.patch_layers), len(inputs)))
    stats = {"head_swap": 0.0, "patch": 0.0, "runs": 0, "skipped": 0}
    for j, layer in enumerate(plan.patch_layers):
        started = time.perf_counter()
        for i, input_ids in enumerate(inputs):
            state = store.block(f"{source}.full.{layer}", i)
            if own is not None and own_entropy is not None and np.array_equal(state,
                                                                             store.block(f"{own}.full.{layer}", i)):
                sums[j, i] = own_entropy[i].sum()
                stats["skipped"] += 1
                continue
            ids = _ids(lm, input_ids)
            with torch.inference_mode(), start_at(lm.model, layer, torch.from_numpy(state).to(lm.device,
                                                                                               lm.dtype)[None]):
                sums[j, i] = _entropies(lm, decoder_output(lm.model, ids)[0], ids, plan.starts[i],
                                        plan.temperature).sum()
            stats["runs"] += 1
        stats["head_swap" if layer == plan.n_layers else "patch"] += time.perf_counter() - started
    return sums, stats


def temperature_fit(lm: Any, store: LayerStore, tag: str, plan: Plan, rows: np.ndarray, target: np.ndarray,
                    baseline: np.ndarray) -> dict:
    """The temperature t on ``lm``'s last-layer logits (its own trunk ``tag``) whose entropies best match
    ``target`` on the sampled ``rows`` (:func:`reasongraph.train.locus.temperature_fit.fit_temperature`); ``baseline``
    is ``lm``'s own entropy of those tokens at the analysis temperature."""
    h = store.read(f"{tag}.sample.{plan.n_layers}", rows=rows)
    return fit_temperature(target, lambda temps: residual_entropy_grid(lm, h, temps), baseline_entropy=baseline)
