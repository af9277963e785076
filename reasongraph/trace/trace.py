"""The Trace: everything one teacher-forced forward pass saw along a reasoning trace.

A Trace is a plain value: arrays and strings, no model attached. It is what extraction produces and what every
later stage (step vectors, clustering, graphs, signals, HTML) consumes, and it saves to a single ``.npz`` file
that loads without pickle.

A *lean* trace (:meth:`Trace.lean`) keeps, instead of every token's hidden state, what the later stages need of
them: each captured layer's mean step vectors and its hidden-state summary (effective rank, ERV/ERA, the
windowed rank, the level coupling, the rank curve). That is what a scoring run caches: 133 KiB per 1k tokens for
SmolLM2 (576 wide, one layer) instead of 2,298 KiB, with the same analysis. A run that samples a prompt several
times also keeps the first layer's hidden states of the first :data:`PREFIX_TOKENS` response tokens (float16),
the most the cross-sample spread (:mod:`reasongraph.analysis.samples.spread`) reads: 2 * d * min(n_tokens, 512) bytes,
576 KiB for SmolLM2 at 512 tokens or more.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from reasongraph.core.npz_format import Array, damaged, load_npz, save_npz
from reasongraph.trace.hidden.summary import hidden_summary, missing_measures
from reasongraph.trace.options import KEEP_HIDDEN
from reasongraph.trace.steps import Step

_FORMAT = "reasongraph.Trace"
# Version 2 added lean traces (pooled_<layer> arrays, hidden_stats); version 3 the prefix_<layer> arrays. A trace
# without them is written as the oldest version that holds it, so older readers keep reading it.
_FORMAT_VERSION = 3
#: Response tokens whose hidden states a lean trace keeps for the cross-sample spread, when asked.
PREFIX_TOKENS = 512
_HEADER_FIELDS = ("text", "prompt", "prompt_len", "tokens", "steps", "model_name", "layers", "segment",
                  "temperature")
_ARRAYS = {"input_ids": Array(1, "iu"), "offsets": Array(2, "iu"), "entropy": Array(1, "f"),
           "logprob": Array(1, "f")}


@dataclass(eq=False)
class Trace:
    """One reasoning trace after a forward pass.

    Attributes
    ----------
    text, prompt : the trace and the prompt it answers (``prompt`` may be None).
    input_ids : (prompt_len + n_tokens,) every id fed to the model, prompt (and any template) first.
    prompt_len : trace token i is ``input_ids[prompt_len + i]``; ``entropy[i]`` comes from the logits at
        position ``prompt_len + i - 1``.
    tokens : the trace's tokens as text, ``tokens[i] == text[offsets[i, 0]:offsets[i, 1]]``.
    offsets : (n_tokens, 2) character spans of the tokens in ``text``.
    entropy, logprob : (n_tokens,) nats; NaN where undefined (first token with no prompt and no BOS).
    hidden : {layer index: (n_tokens, d) float array}, layer 0 being the embedding output; empty in a lean trace.
    steps : the trace split into :class:`Step` values.
    model_name, layers, segment, temperature : how the trace was made.
    pooled : {layer index: (n_steps, d) float32 mean step vectors}, kept by a lean trace.
    hidden_stats : {layer index: :func:`reasongraph.trace.hidden.summary.hidden_summary`}, kept by a lean trace.
    prefix : {layer index: (min(n_tokens, cap), d) hidden states of the first response tokens}, float16 where they
        fit, kept by a lean trace made with ``prefix_tokens`` (the first layer only).
    """

    text: str
    prompt: str | None
    input_ids: np.ndarray
    prompt_len: int
    tokens: list[str]
    offsets: np.ndarray
    entropy: np.ndarray
    logprob: np.ndarray
    hidden: dict[int, np.ndarray]
    steps: list[Step]
    model_name: str = ""
    layers: tuple[int, ...] = ()
    segment: str = "newline"
    temperature: float = 1.0
    meta: dict = field(default_factory=dict)
    pooled: dict[int, np.ndarray] = field(default_factory=dict)
    hidden_stats: dict[int, dict] = field(default_factory=dict)
    prefix: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def _layer(self, layer: int | None) -> int:
        if layer is None:
            if not self.layers:
                raise ValueError("this Trace holds no hidden states (extracted with layers=())")
            return self.layers[0]
        if layer not in self.hidden and layer not in self.pooled:
            raise KeyError(f"layer {layer} was not captured; this Trace holds layers {list(self.layers)}")
        return layer

    def width(self, layer: int | None = None) -> int:
        """The hidden size at ``layer`` (default the first captured): the width of its step vectors."""
        layer = self._layer(layer)
        return int((self.pooled[layer] if layer in self.pooled else self.hidden[layer]).shape[1])

    def step_vectors(self, layer: int | None = None, pool: str = "mean") -> np.ndarray:
        """(n_steps, d) float32: one vector per step from the hidden states of its tokens.

        ``pool="mean"`` averages the step's tokens (the Topology of Reasoning paper); ``"last"`` takes its last
        token. ``layer`` defaults to the first captured layer. A lean trace has the mean only.
        """
        layer = self._layer(layer)
        if pool == "mean" and layer in self.pooled:  # kept in float32 even where the hidden states are float16
            return self.pooled[layer]
        if layer not in self.hidden:
            raise ValueError(f"this lean Trace keeps mean step vectors only, not pool={pool!r}; keep the hidden "
                             "states to pool otherwise")
        h = self.hidden[layer]
        out = np.empty((len(self.steps), h.shape[1]), dtype=np.float32)
        for i, s in enumerate(self.steps):
            rows = h[s.start_token:s.end_token]
            if pool == "mean":
                out[i] = rows.astype(np.float64).mean(axis=0)
            elif pool == "last":
                out[i] = rows[-1]
            else:
                raise ValueError(f"pool must be 'mean' or 'last', got {pool!r}")
        return out

    def hidden_summary(self, layer: int | None = None) -> dict:
        """The hidden-state measures of one layer (:func:`reasongraph.trace.hidden.summary.hidden_summary`): kept by a
        lean trace, computed from the hidden states otherwise."""
        layer = self._layer(layer)
        if layer in self.hidden_stats:  # an entry cached before a measure existed reports it as NaN
            return {**missing_measures(self.hidden_stats[layer], self.width(layer)), **self.hidden_stats[layer]}
        return hidden_summary(self.hidden[layer], self.entropy)

    def prefix_hidden(self, layer: int | None = None) -> np.ndarray | None:
        """The hidden states at ``layer`` (default the first captured) of the first response tokens: those a lean
        trace kept (:meth:`lean` with ``prefix_tokens``), all of them when the trace holds its hidden states, None
        when it holds neither (a lean trace made without a prefix, e.g. cached before prefixes were kept)."""
        layer = self._layer(layer)
        if layer in self.prefix:
            return self.prefix[layer]
        return self.hidden.get(layer)

    def lean(self, keep_hidden: bool = KEEP_HIDDEN, prefix_tokens: int = 0) -> "Trace":
        """This trace with each layer's mean step vectors and hidden-state summary instead of every token's hidden
        state; ``keep_hidden`` keeps the hidden states too, in float16 (float32 where float16 would overflow);
        ``prefix_tokens`` > 0 keeps the first layer's hidden states of the first ``prefix_tokens`` response tokens
        the same way (what the cross-sample spread of a prompt's samples reads)."""
        hidden = {k: _half(h) for k, h in self.hidden.items()} if keep_hidden else {}
        prefix = dict(self.prefix)
        if prefix_tokens > 0 and self.layers and self.layers[0] in self.hidden:
            prefix[self.layers[0]] = _half(self.hidden[self.layers[0]][:prefix_tokens])
        return replace(self, hidden=hidden, prefix=prefix,
                       pooled={k: self.step_vectors(k) for k in self.layers},
                       hidden_stats={k: self.hidden_summary(k) for k in self.layers})

    def step_spans(self) -> np.ndarray:
        """(n_steps, 2) int array of [start_token, end_token) per step."""
        return np.array([(s.start_token, s.end_token) for s in self.steps], dtype=np.int64).reshape(-1, 2)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the trace to one ``.npz`` file (arrays + a JSON header); loads back exactly, without pickle."""
        header = {
            "text": self.text,
            "prompt": self.prompt,
            "prompt_len": int(self.prompt_len),
            "tokens": list(self.tokens),
            "steps": [s.as_dict() for s in self.steps],
            "model_name": self.model_name,
            "layers": [int(x) for x in self.layers],
            "segment": self.segment,
            "temperature": float(self.temperature),
            "meta": self.meta,
        }
        if self.hidden_stats:
            header["hidden_stats"] = {str(k): v for k, v in self.hidden_stats.items()}
        arrays = {
            "input_ids": np.asarray(self.input_ids),
            "offsets": np.asarray(self.offsets),
            "entropy": np.asarray(self.entropy),
            "logprob": np.asarray(self.logprob),
        }
        for layer, h in self.hidden.items():
            arrays[f"hidden_{int(layer)}"] = np.asarray(h)
        for layer, v in self.pooled.items():
            arrays[f"pooled_{int(layer)}"] = np.asarray(v, dtype=np.float32)
        for layer, h in self.prefix.items():
            arrays[f"prefix_{int(layer)}"] = np.asarray(h)
        version = 3 if self.prefix else 2 if self.pooled or self.hidden_stats else 1
        return save_npz(path, format=_FORMAT, version=version, header=header, arrays=arrays)

    @classmethod
    def load(cls, path: str | Path) -> "Trace":
        """Read a file written by :meth:`save`. Never unpickles; a bad file is an InputError naming it."""
        header, arrays = load_npz(path, format=_FORMAT, max_version=_FORMAT_VERSION, what="Trace",
                                  required_header=_HEADER_FIELDS, required_arrays=_ARRAYS,
                                  optional_arrays={"hidden_*": Array(2, "f"), "pooled_*": Array(2, "f"),
                                                   "prefix_*": Array(2, "f")})
        hidden, pooled, prefix, steps = _checked_content(path, header, arrays)
        return cls(
            text=header["text"],
            prompt=header["prompt"],
            input_ids=arrays["input_ids"],
            prompt_len=header["prompt_len"],
            tokens=header["tokens"],
            offsets=arrays["offsets"],
            entropy=arrays["entropy"],
            logprob=arrays["logprob"],
            hidden=hidden,
            steps=steps,
            model_name=header["model_name"],
            layers=tuple(header["layers"]),
            segment=header["segment"],
            temperature=header["temperature"],
            meta=header.get("meta", {}),
            pooled=pooled,
            hidden_stats={int(k): v for k, v in (header.get("hidden_stats") or {}).items()},
            prefix=prefix,
        )


def _half(h: np.ndarray) -> np.ndarray:
    """float16 when every value fits (it halves the cache), else float32."""
    with np.errstate(over="ignore"):
        half = np.asarray(h).astype(np.float16)
    return half if np.isfinite(half).all() == np.isfinite(h).all() else np.asarray(h, dtype=np.float32)


def _checked_content(path: str | Path, header: dict,
                     arrays: dict[str, np.ndarray]) -> tuple[dict, dict, dict, list[Step]]:
    """The hidden states, pooled step vectors and prefix hidden states by layer and the Steps of a loaded file,
    after cheap checks that its parts agree."""
    if not isinstance(header["tokens"], list) or not isinstance(header["layers"], list):
        raise damaged(path, "Trace", "its header's tokens or layers are not lists")
    n_tokens = len(header["tokens"])
    n_steps = len(header["steps"]) if isinstance(header["steps"], list) else -1
    for name, a in arrays.items():
        rows = n_steps if name.startswith("pooled_") else n_tokens
        if name.startswith("prefix_") and len(a) > n_tokens:
            raise damaged(path, "Trace", f"array {name!r} has {len(a)} rows for {n_tokens} tokens")
        if name != "input_ids" and not name.startswith("prefix_") and len(a) != rows:
            raise damaged(path, "Trace", f"array {name!r} has {len(a)} rows for {rows} "
                                         f"{'steps' if name.startswith('pooled_') else 'tokens'}")
    try:
        hidden = {int(k[len("hidden_"):]): v for k, v in arrays.items() if k.startswith("hidden_")}
        pooled = {int(k[len("pooled_"):]): v for k, v in arrays.items() if k.startswith("pooled_")}
        prefix = {int(k[len("prefix_"):]): v for k, v in arrays.items() if k.startswith("prefix_")}
        steps = [Step(**s) for s in header["steps"]]
        missing = [layer for layer in header["layers"] if layer not in hidden and layer not in pooled]
    except (TypeError, ValueError) as e:
        raise damaged(path, "Trace", f"bad layer or step ({e})") from None
    if missing:
        raise damaged(path, "Trace", f"its header lists layer(s) {missing} but the file holds neither "
                                     f"hidden_<layer> nor pooled_<layer> arrays for them")
    return hidden, pooled, prefix, steps
