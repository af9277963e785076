"""The Trace: everything one teacher-forced forward pass saw along a reasoning trace.

A Trace is a plain value: arrays and strings, no model attached. It is what extraction produces and what every
later stage (step vectors, clustering, graphs, signals, HTML) consumes, and it saves to a single ``.npz`` file
that loads without pickle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reasongraph.npzfile import Array, damaged, load_npz, save_npz
from reasongraph.segment import Step

_FORMAT = "reasongraph.Trace"
_FORMAT_VERSION = 1
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
    hidden : {layer index: (n_tokens, d) float32 array}, layer 0 being the embedding output.
    steps : the trace split into :class:`Step` values.
    model_name, layers, segment, temperature : how the trace was made.
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
        if layer not in self.hidden:
            raise KeyError(f"layer {layer} was not captured; this Trace holds layers {sorted(self.hidden)}")
        return layer

    def step_vectors(self, layer: int | None = None, pool: str = "mean") -> np.ndarray:
        """(n_steps, d) float32: one vector per step from the hidden states of its tokens.

        ``pool="mean"`` averages the step's tokens (the Topology of Reasoning paper); ``"last"`` takes its last
        token. ``layer`` defaults to the first captured layer.
        """
        h = self.hidden[self._layer(layer)]
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
        arrays = {
            "input_ids": np.asarray(self.input_ids),
            "offsets": np.asarray(self.offsets),
            "entropy": np.asarray(self.entropy),
            "logprob": np.asarray(self.logprob),
        }
        for layer, h in self.hidden.items():
            arrays[f"hidden_{int(layer)}"] = np.asarray(h)
        return save_npz(path, format=_FORMAT, version=_FORMAT_VERSION, header=header, arrays=arrays)

    @classmethod
    def load(cls, path: str | Path) -> "Trace":
        """Read a file written by :meth:`save`. Never unpickles; a bad file is an InputError naming it."""
        header, arrays = load_npz(path, format=_FORMAT, max_version=_FORMAT_VERSION, what="Trace",
                                  required_header=_HEADER_FIELDS, required_arrays=_ARRAYS,
                                  optional_arrays={"hidden_*": Array(2, "f")})
        hidden, steps = _checked_content(path, header, arrays)
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
        )


def _checked_content(path: str | Path, header: dict, arrays: dict[str, np.ndarray]) -> tuple[dict, list[Step]]:
    """The hidden states by layer and the Steps of a loaded file, after cheap checks that its parts agree."""
    if not isinstance(header["tokens"], list) or not isinstance(header["layers"], list):
        raise damaged(path, "Trace", "its header's tokens or layers are not lists")
    n_tokens = len(header["tokens"])
    for name, a in arrays.items():
        if name != "input_ids" and len(a) != n_tokens:
            raise damaged(path, "Trace", f"array {name!r} has {len(a)} rows for {n_tokens} tokens")
    try:
        hidden = {int(k[len("hidden_"):]): v for k, v in arrays.items() if k.startswith("hidden_")}
        steps = [Step(**s) for s in header["steps"]]
        missing = [layer for layer in header["layers"] if layer not in hidden]
    except (TypeError, ValueError) as e:
        raise damaged(path, "Trace", f"bad layer or step ({e})") from None
    if missing:
        raise damaged(path, "Trace", f"its header lists layer(s) {missing} but the file holds no hidden_<layer> "
                                     f"array for them")
    return hidden, steps
