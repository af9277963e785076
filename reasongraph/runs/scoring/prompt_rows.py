"""One row per prompt sampled several times: the diversity and the cross-sample spread of its samples.

A run with a sample group (``sample_group_field``) writes these rows to diversity.jsonl after pass 2, one per
(group, prompt) with at least two scored samples. Each row's walks are labeled again from the trace cache (step
vectors only, cheap) with the clustering of the samples' model; the cross-sample spread reads the first hidden
states the cache keeps for such a run (:data:`reasongraph.trace.trace.PREFIX_TOKENS`), averaged over M tokens, M the
shortest response of the prompt's samples in *every* group of the run (at least 16, at most the cached prefix),
so that groups compared on one prompt average the same number of tokens.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from reasongraph.analysis.samples.diversity import diversity_metrics
from reasongraph.analysis.samples.spread import prompt_spread, spread_length
from reasongraph.core.json_values import json_value
from reasongraph.core.storage import atomic_write
from reasongraph.runs.scoring.state import RunState
from reasongraph.runs.scoring.extract_here import LocalExtractor
from reasongraph.trace.trace import PREFIX_TOKENS

__all__ = ["write_prompt_rows"]


def write_prompt_rows(run: RunState, here: LocalExtractor, clusterers: dict[str, Any], fit: dict) -> list[dict]:
    """The rows of every (group, prompt) with several scored samples, written to diversity.jsonl at once (their
    traces read from the cache, extracted again by ``here`` where an entry is gone).

    Each row: ``group``, ``sample_group``, ``pair`` (the samples' shared pair value, None when they differ), the
    diversity measures (:func:`reasongraph.analysis.samples.diversity.diversity_metrics`), the spread measures
    (:func:`reasongraph.analysis.samples.spread.prompt_spread`), ``spread_note`` (why samples were left out, "" when
    none was), ``n_empty`` (samples with an empty response), ``scored_by``, ``ids``, ``lines`` and ``walks``.
    """
    scored = {r["line"]: r for r in run.store.rows()}
    samples: dict[tuple, list] = {}
    for rec in run.reader:
        if rec.ok and rec.line in scored and rec.sample_group is not None:
            samples.setdefault((rec.group, rec.sample_group), []).append(rec)
    lengths: dict[Any, list[int]] = defaultdict(list)
    for (_, prompt), recs in samples.items():
        lengths[prompt] += [int(scored[r.line].get("n_tokens") or 0) for r in recs]
    out = []
    for (group, prompt), recs in samples.items():
        if len(recs) < 2:
            continue
        unit = run.cluster_unit(recs[0])
        k = int(fit["units"][unit]["k"] or 1)
        traces = [here.cached_trace(r) for r in recs]
        walks = [clusterers[unit].label_trace(t).tolist() for t in traces]
        prefixes = [t.prefix_hidden() for t in traces]
        m = spread_length(lengths[prompt], cap=PREFIX_TOKENS)
        pairs = {r.pair for r in recs}
        out.append({"group": group, "sample_group": prompt, "pair": pairs.pop() if len(pairs) == 1 else None,
                    **diversity_metrics(walks, [r.text for r in recs], k),
                    **prompt_spread(prefixes, walks, m=m, k=k), "spread_note": _note(prefixes, m),
                    "n_empty": sum(not r.text for r in recs),  # empty responses (EOS first): an empty walk each
                    "scored_by": run.plan.name_of(recs[0]), "ids": [r.id for r in recs],
                    "lines": [r.line for r in recs], "walks": walks})
    atomic_write(run.store.layout.diversity, lambda p: p.write_text("".join(json.dumps(json_value(r)) + "\n"
                                                                          for r in out)))
    return out


def _note(prefixes: list, m: int | None) -> str:
    """Why samples were left out of the spread: no sample of the prompt was long enough, some were shorter than
    M, or their cache entries hold no hidden states (written before reasongraph kept them: score into a new
    cache folder to extract them again)."""
    if m is None:
        return "no sample of this prompt has 16 response tokens: no spread"
    missing = sum(p is None for p in prefixes)
    short = sum(p is not None and len(p) < m for p in prefixes)
    parts = ([f"{short} shorter than M = {m} tokens"] if short else []) + \
        ([f"{missing} without cached hidden states (an older cache entry)"] if missing else [])
    return ("left out: " + ", ".join(parts)) if parts else ""
