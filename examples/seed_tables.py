"""The seed-question example's own tables, computed from a scored run with the public API.

- ``window_table``: the within-trajectory window measures (erank_window, its share of the bound, the windows'
  spectral entropy) over W-token windows of each reply's hidden states (the run's cached prefix), for replies
  shorter than the run's 128-token window, paired by problem: ratio B/A with a bootstrap CI over problems,
  hidden_collapse_erank at W, its difference from token_collapse, and its share of each control's range.
- ``dynamic_range``: each hidden row's mean on every group and its ratio to the reference group's, so that a reader
  sees which rows the controls could move.
- ``same_tokens_table``: token collapse over the tokens the cross-sample spread averages, beside the spread's.
- ``alignment_table``: revisits against onset entropy spikes per group, under the token-relative and the
  onset-relative rule (pooled, from the run's summary).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

WINDOW_KEYS = ("erank_window", "erank_window_norm", "spectral_entropy_window")
N_BOOT = 2000


def window_rows(run, window: int) -> dict[int, dict]:
    """Per row line: the W-token window measures of the reply's hidden states (NaN below W tokens)."""
    import reasongraph as rg

    out = {}
    for r in run.rows():
        trace = run.trace(r)
        prefix = trace.prefix_hidden() if trace is not None else None
        out[r["line"]] = (rg.window_measures(np.asarray(prefix, dtype=np.float64), window) if prefix is not None
                          and len(prefix) else dict.fromkeys(WINDOW_KEYS, math.nan))
    return out


def per_pair(rows: Sequence[dict], group: str, value: Callable[[dict], float]) -> dict[str, float]:
    """The mean of ``value`` over each pair's rows of ``group`` (finite values only)."""
    found: dict[str, list[float]] = {}
    for r in rows:
        if r["group"] == group and math.isfinite(v := float(value(r))):
            found.setdefault(str(r["pair"]), []).append(v)
    return {k: float(np.mean(v)) for k, v in found.items()}


def bootstrap(columns: np.ndarray, stat: Callable[[np.ndarray], np.ndarray], *, seed: int = 0) -> dict:
    """``stat`` of the per-pair columns (groups x pairs) with a percentile 95% bootstrap CI over pairs."""
    n = columns.shape[1]
    if n < 2:
        value = float(stat(columns[:, None, :])[0]) if n else math.nan
        return {"value": value, "ci_low": math.nan, "ci_high": math.nan, "n": n}
    value = float(stat(columns[:, None, :])[0])
    idx = np.random.default_rng(seed).integers(0, n, size=(N_BOOT, n))
    boots = stat(columns[:, idx])
    boots = boots[np.isfinite(boots)]
    return {"value": value, "ci_low": float(np.percentile(boots, 2.5)), "ci_high": float(np.percentile(boots, 97.5)),
            "n": n}


def _aligned(*maps: dict[str, float]) -> np.ndarray:
    keys = sorted(set.intersection(*(set(m) for m in maps)))
    return np.array([[m[k] for k in keys] for m in maps], dtype=np.float64).reshape(len(maps), len(keys))


def _fmt(d: dict, digits: int = 3) -> str:
    return f"{d['value']:.{digits}g} [{d['ci_low']:.{digits}g}, {d['ci_high']:.{digits}g}]"


def window_table(run, a: str, b: str, window: int, controls: Sequence[str] = ()) -> tuple[dict, str]:
    """The window measures at W, B against A paired by problem; returns (data, text)."""
    rows = list(run.rows())
    measures = window_rows(run, window)
    value = {k: (lambda r, k=k: measures[r["line"]][k]) for k in WINDOW_KEYS}
    mean = {g: {k: per_pair(rows, g, f) for k, f in value.items()} for g in (a, b, *controls)}
    h = {g: per_pair(rows, g, lambda r: r.get("mean_entropy", math.nan)) for g in (a, b)}
    ratio = {k: bootstrap(_aligned(mean[a][k], mean[b][k]), lambda x: x[1].mean(-1) / x[0].mean(-1))
             for k in WINDOW_KEYS}
    erank = "erank_window"
    # token collapse minus hidden collapse (W) = erank ratio - H ratio, over the same resampled problems
    diff = bootstrap(_aligned(h[a], h[b], mean[a][erank], mean[b][erank]),
                     lambda x: x[3].mean(-1) / x[2].mean(-1) - x[1].mean(-1) / x[0].mean(-1))
    shares = {c: bootstrap(_aligned(mean[a][erank], mean[b][erank], mean[c][erank]),
                           lambda x: (x[0].mean(-1) - x[1].mean(-1)) / (x[0].mean(-1) - x[2].mean(-1)))
              for c in controls}
    r = ratio[erank]
    collapse = {"value": 1 - r["value"], "ci_low": 1 - r["ci_high"], "ci_high": 1 - r["ci_low"], "n": r["n"]}
    short = {g: sum(1 for r in rows if r["group"] == g and not math.isfinite(measures[r["line"]][erank]))
             for g in (a, b)}
    lines = [f"within one trajectory, {window}-token windows (the replies are shorter than the run's 128-token "
             f"window): {b} (B) vs {a} (A), paired by problem, 95% bootstrap CIs",
             *(f"  {k:<25} A {np.mean(list(mean[a][k].values())):.4g}  B {np.mean(list(mean[b][k].values())):.4g}"
               f"  B/A {_fmt(ratio[k], 4)}" for k in WINDOW_KEYS),
             f"  hidden collapse 1 - erank_window ratio (W = {window}): {_fmt(collapse, 3)}",
             f"  token collapse - hidden collapse (W = {window}): {_fmt(diff, 3)}",
             *(f"  share of the control's range (A - B) / (A - C), C = {c}: {_fmt(s, 3)}" for c, s in shares.items()),
             f"  replies shorter than W, left out: {a} {short[a]}, {b} {short[b]}"]
    data = {"window": window, "ratio": ratio, "hidden_collapse_erank": collapse, "difference": diff,
            "control_share": shares, "short": short}
    return {"summary": data, "rows": measures}, "\n".join(lines)


def dynamic_range(run, groups: Sequence[str], windows: dict) -> tuple[dict, str]:
    """Each row's mean per group (per-prompt rows over prompts, per-trace rows over traces) and its ratio to the
    first group's; returns (data, a Markdown table)."""
    rows, prompts, measures = list(run.rows()), run.diversity(), windows["rows"]
    w = windows["summary"]["window"]

    def trace_mean(g: str, key: str, source: dict | None = None) -> float:
        vals = np.array([(source[r["line"]] if source else r).get(key, math.nan) for r in rows if r["group"] == g],
                        dtype=float)
        return float(vals[np.isfinite(vals)].mean()) if np.isfinite(vals).any() else math.nan

    def prompt_mean(g: str, key: str) -> float:
        vals = np.array([p[key] for p in prompts if p["group"] == g and p.get(key) is not None], dtype=float)
        return float(vals[np.isfinite(vals)].mean()) if np.isfinite(vals).any() else math.nan

    table = {"token H (nats)": lambda g: trace_mean(g, "mean_entropy"),
             f"erank_window W={w}": lambda g: trace_mean(g, "erank_window", measures),
             f"erank / bound W={w}": lambda g: trace_mean(g, "erank_window_norm", measures),
             f"spectral entropy W={w} (nats)": lambda g: trace_mean(g, "spectral_entropy_window", measures),
             "cross-sample cosine spread": lambda g: prompt_mean(g, "cosine_spread"),
             "cross-sample variance": lambda g: prompt_mean(g, "spread_variance"),
             "node entropy (nats)": lambda g: prompt_mean(g, "node_entropy"),
             "node entropy cap (nats)": lambda g: prompt_mean(g, "node_entropy_cap"),
             "node information (nats)": lambda g: prompt_mean(g, "node_information"),
             "revisits per step": lambda g: trace_mean(g, "revisits_per_step"),
             "visit Gini": lambda g: trace_mean(g, "visit_gini"),
             "visit decay": lambda g: trace_mean(g, "visit_decay")}
    data = {label: {g: f(g) for g in groups} for label, f in table.items()}
    head = ["measure", *groups, *(f"{g} / {groups[0]}" for g in groups[1:])]
    body = [[label, *(_num(v[g], 4) for g in groups),
             *(_num(v[g] / v[groups[0]], 3) if v[groups[0]] else "n/a" for g in groups[1:])]
            for label, v in data.items()]
    return data, "the controls' dynamic range (means; ratios to the base's free samples)\n" + _markdown(head, body)


def _num(x: float | None, digits: int) -> str:
    return f"{x:.{digits}g}" if x is not None and math.isfinite(x) else "n/a"


def alignment_table(run, groups: Sequence[str]) -> tuple[dict, str]:
    """Per group, the pooled alignment of revisits with onset entropy spikes under both rules (summary.json): the
    token-relative rule (a spike is a top-rho token of the trace; near-saturated when most steps begin at one) and
    the onset-relative rule (the ceil(rho n) steps of highest onset entropy: rho of the steps by construction)."""
    found = {g: (run.summary or {}).get("groups", {}).get(g, {}).get("alignment", {}) for g in groups}

    def ci(d: dict, key: str, lo: str, hi: str) -> str:
        return f"{_num(d.get(key, math.nan), 3)} [{_num(d.get(lo, math.nan), 3)}, {_num(d.get(hi, math.nan), 3)}]"

    head = ["group", "spike rate", "near-saturated traces", "revisits", "MH odds ratio", "hidden-only share",
            "onset-relative: traces", "revisits", "MH odds ratio", "hidden-only share"]
    body = [[g, _num(d.get("spike_rate", math.nan), 3), f"{d.get('n_near_saturated')} of {d.get('n_traces')}",
             str(d.get("n_revisits")), ci(d, "mh_odds_ratio", "mh_ci_low", "mh_ci_high"),
             ci(d, "hidden_only_share", "hidden_only_share_ci_low", "hidden_only_share_ci_high"),
             str(d.get("rel_n_traces")), str(d.get("rel_n_revisits")),
             ci(d, "rel_mh_odds_ratio", "rel_mh_ci_low", "rel_mh_ci_high"),
             ci(d, "rel_hidden_only_share", "rel_hidden_only_share_ci_low", "rel_hidden_only_share_ci_high")]
            for g, d in found.items()]
    return found, "revisits and onset entropy spikes, pooled per group (token-relative rule | onset-relative rule)\n" \
        + _markdown(head, body)


def _markdown(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(n) for c, n in zip(r, widths)) + " |" for r in [head] + body]
    lines.insert(1, "|" + "|".join("-" * (n + 2) for n in widths) + "|")
    return "\n".join(lines)


def same_tokens_table(run, a: str, b: str) -> tuple[dict, str]:
    """Token collapse over the very tokens the cross-sample spread averages (each prompt's first M response tokens)
    beside the spread's collapse, paired by problem, with the difference's CI over the same resampled problems:
    H_mean covers whole replies, the spread only their first M tokens."""
    rows = list(run.rows())
    prompts = [p for p in run.diversity() if p.get("spread_tokens")]
    m = {str(p["pair"]): int(p["spread_tokens"]) for p in prompts}

    def head_entropy(r: dict) -> float:
        trace, n = run.trace(r), m.get(str(r["pair"]))
        return float(np.mean(trace.entropy[:n])) if trace is not None and n and len(trace.entropy) >= n else math.nan

    h = {g: per_pair(rows, g, head_entropy) for g in (a, b)}
    spread = {g: {str(p["pair"]): p["cosine_spread"] for p in prompts if p["group"] == g
                  and p.get("cosine_spread") is not None} for g in (a, b)}
    token = bootstrap(_aligned(h[a], h[b]), lambda x: 1 - x[1].mean(-1) / x[0].mean(-1))
    hidden = bootstrap(_aligned(spread[a], spread[b]), lambda x: 1 - x[1].mean(-1) / x[0].mean(-1))
    diff = bootstrap(_aligned(h[a], h[b], spread[a], spread[b]),
                     lambda x: x[3].mean(-1) / x[2].mean(-1) - x[1].mean(-1) / x[0].mean(-1))
    means = {g: float(np.mean(list(h[g].values()))) for g in (a, b)}
    lines = [f"over the same tokens (each prompt's first M response tokens, M = {min(m.values())} to "
             f"{max(m.values())}, median {int(np.median(list(m.values())))}): {b} (B) vs {a} (A), 95% bootstrap CIs",
             f"  token H over the first M tokens: A {means[a]:.4g}  B {means[b]:.4g} nats",
             f"  token collapse (first M tokens):                  {_fmt(token, 3)}",
             f"  hidden collapse 1 - cosine spread ratio:          {_fmt(hidden, 3)}",
             f"  token collapse - hidden collapse (spread), same tokens: {_fmt(diff, 3)}"]
    return {"m": m, "H_first_m": means, "token_collapse": token, "hidden_collapse_spread": hidden,
            "difference": diff}, "\n".join(lines)
