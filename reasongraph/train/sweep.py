"""Exploration over the saved checkpoints of a training run: the probe of every checkpoint, the entropy law, the
token-vs-hidden collapse relative to the first checkpoint, and a report.

:func:`sweep` does for a run already trained what :class:`reasongraph.train.callback.ExplorationCallback` does
live: it loads each checkpoint in turn (ordered by training step), runs one :class:`~reasongraph.train.probe.
ExplorationProbe` on it (the same prompts, samples, temperature and seed for every checkpoint; the reference
clustering and forking threshold fixed by the first) and frees it before the next. Then:

- **the entropy-performance law** (Entropy-Mechanism paper): with an accuracy or reward per checkpoint,
  R = -a·exp(H) + b is fit by least squares of R on exp(H), H being the probe's ``H_mean``; :func:`fit_entropy_law`
  gives a, b and the predicted ceiling b - a (the accuracy at H = 0) with t intervals from the least-squares
  covariance. R is ``accuracy`` (the probe's samples against reference answers of the prompts file) and/or a
  reward the trainer logged (``reward_field``, read from each checkpoint's ``trainer_state.json``). With at
  least 6 checkpoints the law is also fit on the first third alone and its forecast of the rest is scored
  (:mod:`reasongraph.stats.entropy_law`);
- **the entropy dynamics** (Cui et al.): with reference answers, each checkpoint's covariance over its sampled
  tokens of ln pi(a_t) and the GRPO advantage (``cov_logp_adv``, :mod:`reasongraph.stats.entropy_dynamics`), beside
  the change of H_mean to the next checkpoint (``H_change_next``), whose sign it predicts;
- **the collapse ratios** of each checkpoint against the first, paired by prompt
  (:func:`reasongraph.analysis.groups.level_collapse.collapse_table`): token_collapse = 1 - ratio of H_mean,
  hidden_collapse_erank = 1 - ratio of erank_window (named hidden_collapse before the cross-sample spread existed),
  and their difference, with paired bootstrap intervals. The seed question's picture: does token entropy collapse
  while the hidden states keep their rank?

Files written by :func:`write_sweep` into ``out``: ``sweep.jsonl`` (one row per checkpoint), ``samples.jsonl`` (one
row per probe sample: the text and its measures), ``summary.json`` (the options, the law fits, the collapse of
the last checkpoint) and ``report.html`` (every measure against the training step on one shared x-axis).

Every input is checked before the first model loads: each path is a saved model (config.json, safetensors
weights, a tokenizer) or a run folder of ``checkpoint-<step>`` folders; all have one architecture; each
checkpoint's step is known; the probe set has prompts; a reward field is numeric wherever it is logged.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.analysis.groups.level_collapse import collapse_table
from reasongraph.core.checks import check_path_writable
from reasongraph.core.json_values import strict_json
from reasongraph.core.options import given_or_keywords, split_keywords
from reasongraph.core.storage import atomic_write, atomic_write_json
from reasongraph.html.sweep_view import write_sweep_html
from reasongraph.models.sources import load_model
from reasongraph.stats.entropy_dynamics import entropy_changes
from reasongraph.stats.entropy_law import fit_entropy_law, forecast_entropy_law
from reasongraph.train.checkpoints import find_checkpoints, read_rewards
from reasongraph.train.probe.options import ProbeOptions
from reasongraph.train.probe.probe import as_probe
from reasongraph.train.sweep_options import SweepOptions

if TYPE_CHECKING:
    from reasongraph.stats.entropy_law import EntropyLaw

__all__ = ["SweepResult", "sweep", "write_sweep"]

log = logging.getLogger("reasongraph")


@dataclass
class SweepResult:
    """What :func:`sweep` measured.

    Attributes
    ----------
    rows : one dict per checkpoint, in step order: ``checkpoint``, ``path``, ``step``, the probe's
        :data:`~reasongraph.train.probe.measurement.METRICS`, the reward (when asked), the collapse against the first
        checkpoint (``token_collapse``, ``hidden_collapse_erank``, ``collapse_difference``, each with ``_ci_low`` /
        ``_ci_high``) and ``load_seconds``.
    samples : one dict per probe sample of every checkpoint (``checkpoint``, ``step`` and the probe's row).
    laws : {R field: :class:`EntropyLaw`} for each accuracy or reward column with enough checkpoints.
    collapse : the level-collapse table of the last checkpoint against the first (``CollapseTable.as_dict()``).
    options : the probe's and the sweep's settings.
    forecasts : {R field: the law fit on the first third of the checkpoints and its forecast of the rest}
        (:func:`reasongraph.stats.entropy_law.forecast_entropy_law`; only with at least 6 checkpoints).
    """

    rows: list[dict]
    samples: list[dict]
    laws: dict[str, EntropyLaw]
    collapse: dict | None
    options: dict
    forecasts: dict[str, dict] = field(default_factory=dict)

    def save(self, out: str | os.PathLike) -> Path:
        """Write the sweep's folder (the same as :func:`write_sweep`); return it."""
        return write_sweep(self, out)


# ---------------------------------------------------------------------- the sweep
def sweep(checkpoints: Sequence[str | os.PathLike], prompts: Any, *, out: str | os.PathLike | None = None,
          device: Any = None, dtype: Any = None, options: SweepOptions | None = None, **keywords: Any) -> SweepResult:
    """Probe every checkpoint of a run, fit the entropy law, compute the collapse against the first checkpoint.

    Parameters
    ----------
    checkpoints : model folders and/or run folders of ``checkpoint-<step>`` folders (see
        :func:`find_checkpoints`); measured in step order.
    prompts : the probe set, or an :class:`~reasongraph.train.probe.probe.ExplorationProbe` (then no ``probe_options``).
    out : a folder for sweep.jsonl, samples.jsonl, summary.json and report.html (:func:`write_sweep`); None
        writes nothing.
    reward_field : a field the trainer logged (e.g. TRL GRPO's ``reward``), read from each checkpoint's
        trainer_state.json (:func:`read_rewards`), as a reward column and a second R of the entropy law.
    device, dtype : where and how each checkpoint is loaded (:func:`reasongraph.models.sources.load_model`; default:
        float32 on CPU, so checkpoints saved in bfloat16 are measured in float32).
    options : a :class:`~reasongraph.train.sweep_options.SweepOptions` holding reward_field, n_boot, ci and title,
        instead of them as keywords (not both).
    n_boot, ci : bootstrap resamples and interval level of the collapse ratios and the law's intervals.
    title : the report's title.
    **keywords : the sweep's options above and :class:`~reasongraph.train.probe.probe.ExplorationProbe`'s
        (:class:`~reasongraph.train.probe.options.ProbeOptions`: samples, temperature, max_new_tokens, seed,
        prompt_format, answers, answer_field, layer, segment, k, window, stride...).

    Returns
    -------
    SweepResult
    """
    own, probe_options = split_keywords(keywords, SweepOptions, ProbeOptions, where="sweep")
    o = given_or_keywords(SweepOptions, options, own, "options")
    reward_field = o.reward_field
    probe = as_probe(prompts, **probe_options)
    found = find_checkpoints(checkpoints)
    rewards = read_rewards(found, reward_field) if reward_field else None
    if out is not None:
        _check_out(out)

    rows, samples = [], []
    for i, c in enumerate(found):
        started = time.perf_counter()
        lm = load_model(c.path, device=device, dtype=dtype)
        loaded = time.perf_counter() - started
        measurement = probe.measure(lm)
        del lm
        row = {"checkpoint": c.name, "path": str(c.path), "step": c.step, **measurement.metrics,
               "load_seconds": loaded}
        if rewards is not None:
            row[reward_field] = rewards[i]
        rows.append(row)
        samples.extend({"checkpoint": c.name, "step": c.step, **r} for r in measurement.rows)
        log.info("sweep: %s (step %d): H_mean %.4g, erank_window %.4g, revisits/step %.4g in %.1f s", c.name, c.step,
                 row["H_mean"], row["erank_window"], row["revisits_per_step"], row["seconds"] + loaded)
    collapse = _add_collapse(rows, samples, n_boot=o.n_boot, ci=o.ci, window=probe.window)
    for row, change in zip(rows, entropy_changes([r["H_mean"] for r in rows])):
        row["H_change_next"] = change  # beside cov_logp_adv, which predicts its sign
    fields = ["accuracy"] + ([reward_field] if reward_field else [])
    laws = _fit_laws(rows, fields, o.ci)
    forecasts = {name: f for name in fields if (f := forecast_entropy_law(
        [r["H_mean"] for r in rows], [r.get(name, math.nan) for r in rows], field=name)) is not None}
    options = {"probe": probe.options(), **o.identity(), "checkpoints": [str(c.path) for c in found],
               "title": o.title}
    result = SweepResult(rows=rows, samples=samples, laws=laws, collapse=collapse, options=options,
                         forecasts=forecasts)
    if out is not None:
        write_sweep(result, out)
    return result


def _check_out(out: str | os.PathLike) -> None:
    check_path_writable("out", out, folder=True)


def _add_collapse(rows: list[dict], samples: list[dict], *, n_boot: int, ci: float, window: int) -> dict | None:
    """Each row's token/hidden collapse against the first checkpoint; the full table of the last one (its
    erank_window label naming the probe's window)."""
    scored = [s for s in samples if s.get("scored")]
    names = ("token_collapse", "hidden_collapse_erank", "collapse_difference")
    first, table = rows[0]["checkpoint"], None
    rows[0].update({f"{key}{end}": value for key in names for end, value in
                    (("", 0.0), ("_ci_low", math.nan), ("_ci_high", math.nan))})
    for row in rows[1:]:
        table = collapse_table(scored, first, row["checkpoint"], group_field="checkpoint", pair_field="prompt_id",
                               mode="faithful", n_boot=n_boot, ci=ci)
        for key, value in zip(names, (table.token_collapse, table.hidden_collapse_erank,
                                                 table.differences["difference_erank"])):
            row.update({key: value["value"], f"{key}_ci_low": value["ci_low"], f"{key}_ci_high": value["ci_high"]})
    if table is None:
        return None
    out = table.as_dict()
    for row in out["rows"]:
        if row["key"] == "erank_window":
            row["label"] = f"effective rank (mean over {window}-token windows)"
    return out


def _fit_laws(rows: list[dict], fields: list[str], ci: float) -> dict[str, EntropyLaw]:
    laws = {}
    H = np.array([r["H_mean"] for r in rows], dtype=np.float64)
    for name in fields:
        R = np.array([r.get(name, math.nan) for r in rows], dtype=np.float64)
        ok = np.isfinite(H) & np.isfinite(R)
        if ok.sum() < 2 or np.unique(H[ok]).size < 2:
            log.info("sweep: the entropy law of %s needs two checkpoints with distinct entropies and a value; "
                     "not fit", name)
            continue
        laws[name] = fit_entropy_law(H, R, ci=ci, field=name)
    return laws


def write_sweep(result: SweepResult, out: str | os.PathLike) -> Path:
    """Write sweep.jsonl, samples.jsonl, summary.json and report.html into the folder ``out``; return it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "sweep.jsonl", result.rows)
    _write_jsonl(out / "samples.jsonl", result.samples)
    atomic_write_json(out / "summary.json", {"format": "reasongraph.sweep", "version": 1,
                                             "options": result.options,
                                             "laws": {k: v.as_dict() for k, v in result.laws.items()},
                                             "law_forecasts": result.forecasts, "collapse": result.collapse})
    write_sweep_html(result.rows, out / "report.html", laws={k: v.as_dict() for k, v in result.laws.items()},
                     collapse=result.collapse, options=result.options, title=result.options.get("title"))
    return out


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(strict_json(r), ensure_ascii=False) + "\n" for r in rows)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
