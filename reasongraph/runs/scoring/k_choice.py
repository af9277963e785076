"""K of a scoring run's clusterings: the option as given ("auto" or a whole number), resolved per fit with the
reason, and the warning when K leaves too few steps per node.

The rule of ``k="auto"`` (the default) is the single-trace rule, :func:`~reasongraph.graph.cluster.kmeans.k_for_steps`:
K = n // 3 of the n steps the clusterer is fitted on, at least 2, at most the paper's 200. With several clustering
units the unit with the most steps gets that K and the others keep its steps-per-cluster ratio (a fixed K would
give the unit with more steps more revisits by construction). docs/choosing_k.md has the evidence behind the rule.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt

__all__ = ["AUTO", "auto_k", "check_resumed_k", "chosen_k", "k_warning", "unit_ks"]

AUTO = "auto"


def auto_k(n_fit: int) -> tuple[int, str]:
    """(K, why) of the auto rule for a clusterer fitted on ``n_fit`` steps.

    >>> auto_k(246)
    (82, 'auto: n/3 of 246 fitted steps = 82')
    >>> auto_k(900)
    (200, 'auto: capped at 200 (n/3 of 900 fitted steps = 300)')
    """
    from reasongraph.graph.cluster.kmeans import PAPER_K, k_for_steps

    k, third = k_for_steps(n_fit), n_fit // 3
    if third > PAPER_K:
        return k, f"auto: capped at {PAPER_K} (n/3 of {n_fit} fitted steps = {third})"
    if k != third:
        return k, f"auto: n/3 of {n_fit} fitted steps = {third}, raised to {k}"
    return k, f"auto: n/3 of {n_fit} fitted steps = {k}"


def unit_ks(n_steps: Mapping[str, int], n_fit: Mapping[str, int], k: int | str) -> tuple[dict, float | None]:
    """({unit: (K, why)}, steps per cluster c) for the units with fitted steps.

    One unit: K is ``k`` (or the auto rule on its fitted steps). Several: the unit with the most steps gets that K,
    and every unit g gets K_g = round(n_steps_g / c) with c = (steps of that unit) / K, so all keep one ratio; c is
    None for one unit. K never exceeds a unit's fitted steps.
    """
    units = [u for u in n_steps if n_fit.get(u)]
    if not units:
        return {}, None
    top = max(units, key=lambda u: n_steps[u])
    k_top, why_top = auto_k(n_fit[top]) if k == AUTO else (int(k), "given")
    if len(units) == 1:
        out, c = {top: (k_top, why_top)}, None
    else:
        c = n_steps[top] / k_top
        out = {u: (max(1, round(n_steps[u] / c)),
                   why_top if u == top else f"{'auto' if k == AUTO else 'given'}: in proportion to {top} (K = "
                                             f"{k_top} for {n_steps[top]} steps), {n_steps[u]} steps / {c:.3g}")
               for u in units}
    return {u: _within(kk, why, n_fit[u]) for u, (kk, why) in out.items()}, c


def _within(k: int, why: str, n_fit: int) -> tuple[int, str]:
    """K lowered to the fitted steps when it exceeds them (a KMeans needs a step per cluster)."""
    return (k, why) if k <= n_fit else (n_fit, f"{why}, lowered to the {n_fit} fitted steps")


def k_warning(unit: str, k: int, n_fit: int) -> str | None:
    """The one-line warning when K exceeds a third of the fitted steps, else None."""
    if 3 * k <= n_fit:
        return None
    return (f"K = {k} for {unit} exceeds a third of its {n_fit} fitted steps: a node holds under 3 steps on "
            f"average, so revisits are rare by construction (K auto picks n/3, at most 200)")


def check_resumed_k(manifest: Path, k: int | str) -> None:
    """A run folder started with a whole-number K (every folder written before ``auto`` became the default) is not
    resumed with ``k="auto"``: the auto K may differ, and rows of two K values must not mix. One clear error
    names the K to pass instead."""
    if k != AUTO or not manifest.is_file():
        return
    try:
        saved = json.loads(manifest.read_text()).get("options", {}).get("k")
    except (ValueError, AttributeError):
        return  # the run store reports a damaged manifest
    if isinstance(saved, int) and not isinstance(saved, bool):
        raise InputError(f"{manifest.parent} was started with K = {saved} (before {opt('k', AUTO)} became the "
                         f"default); resume it with {opt('k', saved)}, or use another {opt('out')}")


def chosen_k(fit: Mapping[str, Any]) -> dict:
    """``{"k_option", "k", "k_rule"}`` of a run's fit (fit.json): the K of its clustering with the most steps and
    why (the others are in ``fit["units"]``)."""
    units = [u for u in (fit.get("units") or {}).values() if u.get("k")]
    top = max(units, key=lambda u: u.get("n_steps", 0), default={})
    return {"k_option": fit.get("k_option"), "k": top.get("k"), "k_rule": top.get("k_rule")}
