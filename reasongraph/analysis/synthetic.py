"""Test data without a model: a synthetic, realistic-looking analyzed trace, for tests, demos and benchmarks.

No model is involved: text, tokens, entropies and hidden states are generated (seeded) into a real
:class:`~reasongraph.trace.trace.Trace`, and :func:`reasongraph.analysis.one_trace.analyze_trace` analyzes it with a
walk of step labels that returns to earlier clusters, so the result is a genuine
:class:`~reasongraph.analysis.result.Analysis` of the requested size (a few hundred steps, thousands of tokens, a
graph with cycles).
"""
from __future__ import annotations

import numpy as np

from reasongraph.analysis.one_trace import analyze_trace
from reasongraph.analysis.result import Analysis
from reasongraph.core.options import SEED
from reasongraph.trace.steps import Step
from reasongraph.trace.trace import Trace

__all__ = ["synthetic_analysis", "synthetic_trace"]

_WORDS = ("we", "need", "the", "sum", "of", "roots", "so", "let", "x", "be", "then", "equation", "gives", "value",
          "check", "case", "since", "factor", "term", "both", "sides", "divide", "by", "two", "square", "it",
          "is", "not", "right", "because", "answer", "first", "second", "compute", "again", "using", "formula")
#: Circular shifts of a synthetic analysis's permutation test: fewer than a run's, enough for a fixture.
SYNTHETIC_SHIFTS = 200
_OPENERS = ("Wait,", "Hmm,", "Actually,", "Alternatively,", "But wait,", "Let me double-check:")


def synthetic_analysis(*, n_steps: int = 300, tokens_per_step: int = 26, n_nodes: int = 60, seed: int = SEED.default,
                       text_prefix: str = "", prompt: str | None = "Find the sum of all real roots of x^2 - 5x + 6.",
                       model_name: str = "synthetic-model", d: int = 32, n_shifts: int = SYNTHETIC_SHIFTS) -> Analysis:
    """An :class:`~reasongraph.analysis.result.Analysis` of a synthetic trace of ``n_steps * tokens_per_step`` tokens.

    Parameters
    ----------
    n_steps, tokens_per_step : size of the trace (one step per line).
    n_nodes : clusters the walk of step labels moves over.
    seed : everything is drawn from ``np.random.default_rng(seed)``.
    text_prefix : prepended to the first line (e.g. an injection payload for safety tests).
    prompt, model_name : copied to the trace.
    d : hidden-state width.
    n_shifts : circular shifts of the alignment's permutation test.

    Returns
    -------
    Analysis
    """
    trace, walk = synthetic_trace(n_steps=n_steps, tokens_per_step=tokens_per_step, n_nodes=n_nodes, seed=seed,
                                  text_prefix=text_prefix, prompt=prompt, model_name=model_name, d=d)
    return analyze_trace(trace, labels=walk, n_shifts=n_shifts, seed=seed)


def synthetic_trace(*, n_steps: int = 300, tokens_per_step: int = 26, n_nodes: int = 60, seed: int = SEED.default,
                    text_prefix: str = "", prompt: str | None = None, model_name: str = "synthetic-model",
                    d: int = 32) -> tuple[Trace, np.ndarray]:
    """A synthetic :class:`~reasongraph.trace.trace.Trace` and the walk of cluster labels its hidden states follow."""
    rng = np.random.default_rng(seed)
    walk = _walk(rng, n_steps, n_nodes)
    tokens: list[str] = []
    entropy: list[float] = []
    spans: list[tuple[int, int]] = []

    def emit(tok: str, h: float) -> None:
        tokens.append(tok)
        entropy.append(h)

    for i in range(n_steps):
        if i:
            emit("\n", float(rng.exponential(0.05)))
        first = len(tokens)
        words = []
        if i == 0 and text_prefix:
            words.append(text_prefix)
        if rng.random() < 0.12:
            words.append(str(rng.choice(_OPENERS)))
        words += [str(w) for w in rng.choice(_WORDS, size=max(3, tokens_per_step - len(words) - 1))]
        p_fork = 0.25 if rng.random() < 0.45 else 0.01  # decision points cluster in some steps
        for j, w in enumerate(words):
            # mostly near-deterministic tokens, a few decision points (the 80/20 picture)
            h = float(rng.exponential(1.2)) if rng.random() < p_fork else float(rng.exponential(0.03))
            emit(w if j == 0 else " " + w, h + (1.5 if w in _OPENERS else 0.0))
        emit(".", float(rng.exponential(0.02)))
        spans.append((first, len(tokens)))
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    ends = np.cumsum(lengths)
    offsets = np.column_stack([ends - lengths, ends])
    text = "".join(tokens)
    steps = [Step(a, b, int(offsets[a, 0]), int(offsets[b - 1, 1]), text[offsets[a, 0]:offsets[b - 1, 1]])
             for a, b in spans]
    entropy_arr = np.array(entropy, dtype=np.float64)
    entropy_arr[0] = np.nan  # nothing predicted the first token (no prompt, no BOS), as extract() leaves it

    centers = rng.normal(size=(n_nodes, d)) * 3
    hidden = np.zeros((len(tokens), d), dtype=np.float32)
    for (a, b), label in zip(spans, walk):
        hidden[a:b] = centers[label]
    hidden += rng.normal(scale=0.5, size=hidden.shape).astype(np.float32)
    trace = Trace(text=text, prompt=prompt, input_ids=np.arange(len(tokens), dtype=np.int64), prompt_len=0,
                  tokens=tokens, offsets=offsets, entropy=entropy_arr, logprob=-entropy_arr, hidden={0: hidden},
                  steps=steps, model_name=model_name, layers=(0,), segment="newline")
    return trace, walk


def _walk(rng: np.random.Generator, n_steps: int, n_nodes: int) -> np.ndarray:
    """A walk that mostly moves on to the next cluster, sometimes stays or steps back, and now and then jumps
    back to a cluster seen earlier (a long revisit)."""
    walk = np.empty(n_steps, dtype=np.int64)
    cur = 0
    for i in range(n_steps):
        u = rng.random()
        if i == 0 or u < 0.2:
            pass  # stay: same cluster, no edge
        elif u < 0.7:
            cur = (cur + 1) % n_nodes
        elif u < 0.8:
            cur = (cur + 2) % n_nodes
        elif u < 0.93:
            cur = (cur - 1) % n_nodes
        else:
            cur = int(rng.choice(walk[:i]))  # back to any earlier state
        walk[i] = cur
    return walk
