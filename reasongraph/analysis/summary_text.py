"""The plain-text summary of one trace's analysis (:meth:`Analysis.summary`, what ``reasongraph analyze`` prints).

Every number carries its unit, every n/a its reason, and a number drawn from few events says so with its n:
a reader should never have to guess whether "0" means none, undefined or too few to tell.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from reasongraph.core.display import fmt, fmt_ci, fmt_p
from reasongraph.stats.two_by_two import odds_ratio_interval
from reasongraph.trace.hidden.rank_dynamics import WINDOW

if TYPE_CHECKING:
    from reasongraph.analysis.result import Analysis

__all__ = ["SMALL_SAMPLE", "summary_text"]

#: Fewer events than this behind a share, a ratio or a correlation: the summary flags it as a small sample.
SMALL_SAMPLE = 5
#: How many hidden-only revisits the summary lists.
LISTED = 5


def summary_text(an: Analysis) -> str:
    """The summary of ``an``: the walk, its shape, both levels, the revisit x spike table and its statistics,
    and the first hidden-only revisits under a heading."""
    m = an.metrics
    lines = [_head(an), _cycles(an), _shape(m), _tokens(m), _hidden(m), *_table(an), *_levels(an)]
    events = an.events["hidden_only"]
    if events:
        shown = f"the first {LISTED} of {len(events)}" if len(events) > LISTED else f"all {len(events)}"
        lines.append(f"hidden-only revisits ({shown}: step -> node it returns to, steps since its last visit, "
                     "the step's text):")
        for event in events[:LISTED]:
            lines.append(f"  step {event['step']:>3} -> node {event['node']} "
                         f"(back after {event['steps_since_last_visit']} steps): {_clip(event['text'])}")
    return "\n".join(lines)


def _head(an: Analysis) -> str:
    m = an.metrics
    head = (f"{an.trace.model_name} | {m['n_tokens']} tokens, {m['n_steps']} steps ({an.trace.segment}), "
            f"{m['n_nodes']} nodes, {m['n_edges']} edges")
    if m["n_steps"] < 2:
        head += f" (too short for a graph: {m['n_steps']} step; the graph measures are n/a)"
    return head


def _cycles(an: Analysis) -> str:
    m = an.metrics
    return (f"cycles: loop_exists={m['loop_exists']} loop_count={m['loop_count']} max_revisits={m['max_revisits']} "
            f"revisits={m['n_revisits']} ({fmt(m['revisits_per_step'])} per step) "
            f"cycles<={an.params['length_bound']}={m['cycles_upto_k']}")


def _shape(m: dict) -> str:
    nodes = m["n_nodes"]
    diameter = (f"diameter={fmt(m['diameter'])} (L2 distance between step vectors in hidden space, along edges; "
                f"{fmt(m['diameter_hops'])} hops)" if _ok(m["diameter"])
                else f"diameter=n/a ({'one node' if nodes < 2 else 'no two nodes joined by a path'})")
    clustering = (f"clustering={fmt(m['avg_clustering'])}" if _ok(m["avg_clustering"])
                  else "clustering=n/a (no node with two neighbours)")
    return f"graph shape: {diameter} {clustering} {_small_world(m)}"


def _small_world(m: dict) -> str:
    """small-world, or why it is undefined: S = (C / C_rand) / (L / L_rand) needs the random baselines."""
    if _ok(m["small_world_hops"]):
        weighted = f", with L2-weighted L {fmt(m['small_world'])}" if _ok(m["small_world"]) else ""
        zero = " (0: no triangles)" if m["small_world_hops"] == 0 else ""
        return f"small-world={fmt(m['small_world_hops'])} (hop L{weighted}){zero}"
    if m["n_nodes"] < 2:
        why = "one node"
    elif not _ok(m.get("l_rand")):
        why = "mean degree <= 1: a random graph that sparse has no path length to compare with"
    elif not _ok(m["avg_clustering"]):
        why = "no node with two neighbours"
    else:
        why = "no path between two nodes"
    return f"small-world=n/a (undefined: {why})"


def _tokens(m: dict) -> str:
    return (f"token entropy: mean={fmt(m['mean_entropy'])} nats, p80={fmt(m['entropy_p80'])} nats, "
            f"{fmt(100 * m['low_entropy_share'], digits=2)}% of tokens below 0.01 nats; "
            f"onset entropy mean={fmt(m['onset_entropy_mean'])} nats")


def _hidden(m: dict) -> str:
    windows = int(m["n_tokens"]) // WINDOW
    erank_w = (fmt(m["erank_window"]) if _ok(m["erank_window"])
               else f"n/a: fewer than {WINDOW} tokens")
    if _ok(m["level_coupling"]):
        small = " (small sample)" if windows < SMALL_SAMPLE else ""
        coupling = f"{fmt(m['level_coupling'])} (Spearman over {windows} windows of {WINDOW} tokens{small})"
    elif windows < 3:
        coupling = f"n/a ({windows} windows of {WINDOW} tokens; a correlation needs 3)"
    else:
        coupling = f"n/a (entropy or rank constant over the {windows} windows of {WINDOW} tokens)"
    return (f"hidden states: effective rank={fmt(m['effective_rank'])} (whole trace; in windows of {WINDOW} "
            f"tokens: {erank_w}) ERV={fmt(m['erv'])} ERA={fmt(m['era'])} level coupling={coupling}")


def _table(an: Analysis) -> list[str]:
    al = an.alignment
    t = al.table
    rule = ("onset spike: the entropy that chose how the step begins is in the trace's top "
            f"{100 * an.params['rho']:.0f}%" if al.rule == "onset" else "span: a forking token anywhere in the step")
    return [f"revisit x spike (steps; {rule}):",
            "                 spike  no spike",
            f"  revisit      {t[0, 0]:7d}  {t[0, 1]:8d}",
            f"  no revisit   {t[1, 0]:7d}  {t[1, 1]:8d}",
            f"odds ratio={odds_ratio_text(al.revisit_spike.table, al.odds_ratio, al.odds_ratio_corrected)}"
            f" Fisher p={fmt_p(al.fisher_p)} (one-sided, OR > 1: {fmt_p(al.fisher_p_greater)}); steps beginning at "
            f"a fork: {fmt(al.onset_fork_rate)} (chance {fmt(al.onset_fork_null)})"]


def odds_ratio_text(table: Any, value: float, corrected: bool) -> str:
    """An odds ratio with its exact 95% interval, a note when Haldane-corrected, and a small-sample flag (a cell
    under :data:`SMALL_SAMPLE`); the reason when it is n/a."""
    if not _ok(value):
        return "n/a (a row or column of the table is empty: no revisit, no spike, or no step without one)"
    low, high = odds_ratio_interval(table)
    text = f"{fmt(value)} {fmt_ci(low, high)} (exact 95% CI)"
    if corrected:
        text += " (Haldane-corrected: a cell is 0)"
    smallest = int(np.asarray(table).min())
    if smallest < SMALL_SAMPLE:
        text += f" (small sample: a cell holds {smallest})"
    return text


def _levels(an: Analysis) -> list[str]:
    m, al = an.metrics, an.alignment
    n_rev = m["n_revisits"]
    if n_rev:
        small = f", small sample: {n_rev} revisits" if n_rev < SMALL_SAMPLE else ""
        share = f"{m['align_n_hidden_only']} of {n_rev} ({fmt(al.hidden_only_share)}{small})"
    else:
        share = "n/a (no revisit)"
    return [f"hidden-only revisits (revisits with no onset spike: exploration token entropy misses): {share}; "
            f"token-only spike steps (spikes that are not revisits): {m['align_n_token_only']}",
            f"aha markers: {_markers(an)}"]


def _markers(an: Analysis) -> str:
    """Cues and the steps that hold them: the HTML's marker x revisit table counts steps, the text cues."""
    n = an.metrics["n_markers"]
    mr = an.alignment.marker_revisit
    if mr is None or not n:
        return f"{n} cues"
    steps = int(mr.table[:, 0].sum())
    return (f"{n} cues in {steps} steps (marker x revisit, in steps: OR="
            f"{odds_ratio_text(mr.table, mr.odds_ratio, mr.odds_ratio_corrected)})")


def _ok(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"
