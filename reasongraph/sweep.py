"""Exploration over the saved checkpoints of a training run: the probe of every checkpoint, the entropy law, the
token-vs-hidden collapse relative to the first checkpoint, and a report.

:func:`sweep` does for a run already trained what :class:`reasongraph.integrations.ExplorationCallback` does
live: it loads each checkpoint in turn (ordered by training step), runs one :class:`~reasongraph.probe.
ExplorationProbe` on it (the same prompts, samples, temperature and seed for every checkpoint; the reference
clustering and forking threshold fixed by the first) and frees it before the next. Then:

- **the entropy-performance law** (Entropy-Mechanism paper): with an accuracy or reward per checkpoint,
  R = -a·exp(H) + b is fit by least squares of R on exp(H), H being the probe's ``H_mean``; :func:`fit_entropy_law`
  gives a, b and the predicted ceiling b - a (the accuracy at H = 0) with t intervals from the least-squares
  covariance. R is ``accuracy`` (the probe's samples against reference answers of the prompts file) and/or a
  reward the trainer logged (``reward_field``, read from each checkpoint's ``trainer_state.json``). With at
  least 6 checkpoints the law is also fit on the first third alone and its forecast of the rest is scored
  (:mod:`reasongraph.law_forecast`);
- **the entropy dynamics** (Cui et al.): with reference answers, each checkpoint's covariance over its sampled
  tokens of ln pi(a_t) and the GRPO advantage (``cov_logp_adv``, :mod:`reasongraph.entropy_dynamics`), beside
  the change of H_mean to the next checkpoint (``H_change_next``), whose sign it predicts;
- **the collapse ratios** of each checkpoint against the first, paired by prompt
  (:func:`reasongraph.collapse.collapse_table`): token_collapse = 1 - ratio of H_mean, hidden_collapse_erank = 1 -
  ratio of erank_window (named hidden_collapse before the cross-sample spread existed), and their difference,
  with paired bootstrap intervals. The seed question's picture: does token entropy collapse while the hidden
  states keep their rank?

Files written by :func:`write_sweep` into ``out``: ``sweep.jsonl`` (one row per checkpoint), ``samples.jsonl`` (one
row per probe sample: the text and its measures), ``summary.json`` (the options, the law fits, the collapse of
the last checkpoint) and ``report.html`` (every measure against the training step on one shared x-axis).

Every input is checked before the first model loads: each path is a saved model (config.json, safetensors
weights, a tokenizer) or a run folder of ``checkpoint-<step>`` folders; all have one architecture; each
checkpoint's step is known; the probe set has prompts; a reward field is numeric wherever it is logged.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.entropy_dynamics import entropy_changes
from reasongraph.errors import InputError, opt
from reasongraph.law_forecast import forecast_entropy_law
from reasongraph.probe import ExplorationProbe
from reasongraph.signals import entropy_performance_fit
from reasongraph.storage import atomic_write, atomic_write_json, read_json, strict_json
from reasongraph.trainer_layouts import checkpoint_folders

log = logging.getLogger("reasongraph")

__all__ = ["ARCHITECTURE_KEYS", "Checkpoint", "EntropyLaw", "SweepResult", "find_checkpoints", "fit_entropy_law",
           "read_rewards", "sweep", "write_sweep"]

#: The config fields two checkpoints of one sweep must share.
ARCHITECTURE_KEYS = ("model_type", "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "num_key_value_heads", "intermediate_size", "vocab_size")
_CHECKPOINT_NAME = re.compile(r"checkpoint-(\d+)")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


@dataclass(frozen=True)
class Checkpoint:
    """One saved model of a run: its folder, its training step, its name in tables, its config."""

    path: Path
    step: int
    name: str
    config: dict = field(repr=False)


@dataclass
class EntropyLaw:
    """R = -a·exp(H) + b fit over checkpoints, with intervals (NaN when there are too few checkpoints).

    ``ceiling`` = b - a is the R predicted at H = 0, where the law says training saturates.
    """

    field: str
    n: int
    a: float
    b: float
    ceiling: float
    a_ci: tuple[float, float]
    b_ci: tuple[float, float]
    ceiling_ci: tuple[float, float]
    r2: float
    ci: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class SweepResult:
    """What :func:`sweep` measured.

    Attributes
    ----------
    rows : one dict per checkpoint, in step order: ``checkpoint``, ``path``, ``step``, the probe's
        :data:`~reasongraph.probe.METRICS`, the reward (when asked), the collapse against the first checkpoint
        (``token_collapse``, ``hidden_collapse_erank``, ``collapse_difference``, each with ``_ci_low`` / ``_ci_high``)
        and ``load_seconds``.
    samples : one dict per probe sample of every checkpoint (``checkpoint``, ``step`` and the probe's row).
    laws : {R field: :class:`EntropyLaw`} for each accuracy or reward column with enough checkpoints.
    collapse : the level-collapse table of the last checkpoint against the first (``CollapseTable.as_dict()``).
    options : the probe's and the sweep's settings.
    forecasts : {R field: the law fit on the first third of the checkpoints and its forecast of the rest}
        (:func:`reasongraph.law_forecast.forecast_entropy_law`; only with at least 6 checkpoints).
    """

    rows: list[dict]
    samples: list[dict]
    laws: dict[str, EntropyLaw]
    collapse: dict | None
    options: dict
    forecasts: dict[str, dict] = field(default_factory=dict)


# ---------------------------------------------------------------------- the inputs, checked before any model loads
def find_checkpoints(paths: Sequence[str | os.PathLike]) -> list[Checkpoint]:
    """The checkpoints named by ``paths``, ordered by training step, each checked to be a loadable model.

    A path is a saved model folder, or a run folder whose checkpoint folders are taken: ``checkpoint-<step>`` (the
    Hugging Face Trainer), ``global_step_<step>/actor/huggingface`` (verl, after its model merger) or
    ``global_step<step>_hf`` (OpenRLHF); see :mod:`reasongraph.trainer_layouts`. A model's step is
    ``global_step`` in its ``trainer_state.json``, else the number in its folder's name.

    Raises
    ------
    InputError : no path; a path that is neither a model folder nor a run folder of checkpoints; a trainer's own
        pickled checkpoint (the message gives the command that exports it); a model folder
        without safetensors weights or a tokenizer; a checkpoint whose step is unknown; two checkpoints at one
        step; checkpoints of different architectures.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise InputError("no checkpoint folder given")
    found: list[Checkpoint] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise InputError(f"checkpoint {os.fspath(raw)!r}: {'not a folder' if path.exists() else 'no such folder'}")
        found.extend(_checkpoint(folder, step) for folder, step in checkpoint_folders(path))
    found = sorted({c.path.resolve(): c for c in found}.values(), key=lambda c: c.step)  # a folder named twice
    for before, after in zip(found, found[1:]):
        if before.step == after.step:
            raise InputError(f"checkpoints {before.path} and {after.path} are both at step {before.step}")
    check_architectures(found)
    return found


def _checkpoint(path: Path, layout_step: int | None = None) -> Checkpoint:
    config = read_json(path / "config.json", "model config")
    if not isinstance(config, dict):
        raise InputError(f"{path / 'config.json'}: not a model config (a JSON object)")
    if not any(path.glob("*.safetensors")):
        bins = [p.name for p in path.glob("*.bin")]
        hint = (f" (it has {', '.join(bins)}: pickled weights, which reasongraph never loads; re-save with "
                "save_pretrained(safe_serialization=True))") if bins else ""
        raise InputError(f"checkpoint {path}: no .safetensors weights{hint}")
    if not any((path / f).is_file() for f in _TOKENIZER_FILES):
        raise InputError(f"checkpoint {path}: no tokenizer (looked for {', '.join(_TOKENIZER_FILES)}); save the "
                         "tokenizer with each checkpoint")
    state = path / "trainer_state.json"
    step = None
    if state.is_file():
        step = _trainer_state(state).get("global_step")
    if not isinstance(step, int):
        step = layout_step
    if not isinstance(step, int):
        match = _CHECKPOINT_NAME.fullmatch(path.name)
        if not match:
            raise InputError(f"checkpoint {path}: its training step is unknown: no global_step in a "
                             "trainer_state.json, and the folder is not named checkpoint-<step>")
        step = int(match.group(1))
    return Checkpoint(path=path, step=step, name=path.name, config=config)


def check_architectures(checkpoints: Sequence[Checkpoint]) -> None:
    """Raise InputError when two checkpoints differ in a field of :data:`ARCHITECTURE_KEYS`."""
    first = checkpoints[0]
    for other in checkpoints[1:]:
        for key in ARCHITECTURE_KEYS:
            if first.config.get(key) != other.config.get(key):
                raise InputError(f"checkpoints of different architectures in one sweep: {key} is "
                                 f"{first.config.get(key)!r} in {first.path} but {other.config.get(key)!r} in "
                                 f"{other.path}; sweep the checkpoints of one run")


def read_rewards(checkpoints: Sequence[Checkpoint], reward_field: str) -> list[float]:
    """Each checkpoint's reward: the mean of ``reward_field`` over its ``trainer_state.json`` log entries after the
    previous checkpoint's step, up to its own (NaN when none there holds the field).

    The training reward of the policies between two checkpoints: the nearest logged estimate of the checkpoint's
    own, smoother than the one entry at its step.

    Raises
    ------
    InputError : a checkpoint without ``trainer_state.json``; a logged value of the field that is not a number;
        a field that no log entry of any checkpoint holds.
    """
    rewards, seen, fields = [], False, set()
    previous = -math.inf
    for c in checkpoints:
        state = c.path / "trainer_state.json"
        if not state.is_file():
            raise InputError(f"{opt('reward_field', reward_field)} is read from each checkpoint's "
                             f"trainer_state.json, and {c.path} has none")
        history = _trainer_state(state).get("log_history", [])
        values = []
        for entry in history if isinstance(history, list) else []:
            if not isinstance(entry, dict):
                continue
            fields.update(entry)
            if reward_field not in entry:
                continue
            seen = True
            value = entry[reward_field]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{state}: {opt('reward_field', reward_field)} must be numeric, but the entry of "
                                 f"step {entry.get('step')} holds {value!r}")
            step = entry.get("step", -math.inf)
            if previous < step <= c.step and math.isfinite(value):
                values.append(float(value))
        rewards.append(float(np.mean(values)) if values else math.nan)
        previous = c.step
    if not seen:
        numeric = sorted(fields - {"step", "epoch"})
        raise InputError(f"no log entry of the checkpoints' trainer_state.json holds {opt('reward_field', reward_field)}"
                         + (f"; logged fields: {', '.join(numeric[:20])}" if numeric else ""))
    return rewards


def _trainer_state(path: Path) -> dict:
    state = read_json(path, "trainer state")
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a trainer state (a JSON object with global_step and log_history)")
    return state


# ---------------------------------------------------------------------- the entropy law
def fit_entropy_law(H: Sequence[float], R: Sequence[float], *, ci: float = 0.95, field: str = "R") -> EntropyLaw:
    """Fit R = -a·exp(H) + b over checkpoints, with t intervals from the least-squares covariance.

    The law is linear in x = -exp(H): R = a·x + b. With n points, residual variance s² = RSS / (n - 2) and the
    covariance s²·(XᵀX)⁻¹ of (a, b), each of a, b and the ceiling b - a (variance var a + var b - 2 cov(a, b))
    gets estimate ± t_{n-2, (1+ci)/2}·se: exact when the residuals are independent and normal. Non-finite points
    are left out. Intervals are NaN with n = 2 (an exact fit, no residual left).

    Raises
    ------
    ValueError : fewer than two finite points, or fewer than two distinct entropies (from
        :func:`reasongraph.signals.entropy_performance_fit`); ``ci`` outside (0, 1).
    """
    from scipy.stats import t as student_t

    if not 0 < ci < 1:
        raise InputError(f"{opt('ci')} must be in (0, 1), got {ci!r}")
    H, R = np.asarray(H, dtype=np.float64), np.asarray(R, dtype=np.float64)
    ok = np.isfinite(H) & np.isfinite(R)
    H, R = H[ok], R[ok]
    a, b = entropy_performance_fit(H, R)
    n = H.size
    X = np.column_stack([-np.exp(H), np.ones_like(H)])
    resid = R - X @ np.array([a, b])
    total = float(((R - R.mean()) ** 2).sum())
    r2 = 1 - float(resid @ resid) / total if total > 0 else math.nan
    nan2 = (math.nan, math.nan)
    if n < 3:
        return EntropyLaw(field, n, a, b, b - a, nan2, nan2, nan2, r2, ci)
    cov = float(resid @ resid) / (n - 2) * np.linalg.inv(X.T @ X)
    q = float(student_t.ppf((1 + ci) / 2, n - 2))
    se_a, se_b = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    se_c = math.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0))
    return EntropyLaw(field, n, a, b, b - a, (a - q * se_a, a + q * se_a), (b - q * se_b, b + q * se_b),
                      (b - a - q * se_c, b - a + q * se_c), r2, ci)


# ---------------------------------------------------------------------- the sweep
def sweep(checkpoints: Sequence[str | os.PathLike], prompts: Any, *, out: str | os.PathLike | None = None,
          reward_field: str | None = None, device: Any = None, dtype: Any = None, n_boot: int = 2000,
          ci: float = 0.95, title: str | None = None, **probe_options: Any) -> SweepResult:
    """Probe every checkpoint of a run, fit the entropy law, compute the collapse against the first checkpoint.

    Parameters
    ----------
    checkpoints : model folders and/or run folders of ``checkpoint-<step>`` folders (see
        :func:`find_checkpoints`); measured in step order.
    prompts : the probe set, or an :class:`~reasongraph.probe.ExplorationProbe` (then no ``probe_options``).
    out : a folder for sweep.jsonl, samples.jsonl, summary.json and report.html (:func:`write_sweep`); None
        writes nothing.
    reward_field : a field the trainer logged (e.g. TRL GRPO's ``reward``), read from each checkpoint's
        trainer_state.json (:func:`read_rewards`), as a reward column and a second R of the entropy law.
    device, dtype : where and how each checkpoint is loaded (:func:`reasongraph.models.load_model`; default:
        float32 on CPU, so checkpoints saved in bfloat16 are measured in float32).
    n_boot, ci : bootstrap resamples and interval level of the collapse ratios and the law's intervals.
    title : the report's title.
    **probe_options : :class:`~reasongraph.probe.ExplorationProbe`'s options (samples, temperature,
        max_new_tokens, seed, prompt_format, answers, answer_field, layer, segment, k, window, stride...).

    Returns
    -------
    SweepResult
    """
    from reasongraph.models import load_model

    if reward_field is not None and (not isinstance(reward_field, str) or not reward_field):
        raise InputError(f"{opt('reward_field')} must name a logged field, got {reward_field!r}")
    if not isinstance(n_boot, int) or isinstance(n_boot, bool) or n_boot < 1:
        raise InputError(f"{opt('n_boot')} must be a whole number >= 1, got {n_boot!r}")
    if not isinstance(ci, (int, float)) or not 0 < ci < 1:
        raise InputError(f"{opt('ci')} must be in (0, 1), got {ci!r}")
    if isinstance(prompts, ExplorationProbe):
        if probe_options:
            raise InputError(f"options {', '.join(sorted(probe_options))} belong to the probe: give them to "
                             "ExplorationProbe, or pass the prompts instead of a probe")
        probe = prompts
    else:
        probe = ExplorationProbe(prompts, **probe_options)
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
    collapse = _add_collapse(rows, samples, n_boot=n_boot, ci=ci, window=probe.window)
    for row, change in zip(rows, entropy_changes([r["H_mean"] for r in rows])):
        row["H_change_next"] = change  # beside cov_logp_adv, which predicts its sign
    fields = ["accuracy"] + ([reward_field] if reward_field else [])
    laws = _fit_laws(rows, fields, ci)
    forecasts = {name: f for name in fields if (f := forecast_entropy_law(
        [r["H_mean"] for r in rows], [r.get(name, math.nan) for r in rows], field=name)) is not None}
    options = {"probe": probe.options(), "reward_field": reward_field, "n_boot": n_boot, "ci": ci,
               "checkpoints": [str(c.path) for c in found], "title": title}
    result = SweepResult(rows=rows, samples=samples, laws=laws, collapse=collapse, options=options,
                         forecasts=forecasts)
    if out is not None:
        write_sweep(result, out)
    return result


def _check_out(out: str | os.PathLike) -> None:
    from reasongraph.validate import check_path_writable

    check_path_writable("out", out, folder=True)


def _add_collapse(rows: list[dict], samples: list[dict], *, n_boot: int, ci: float, window: int) -> dict | None:
    """Each row's token/hidden collapse against the first checkpoint; the full table of the last one (its
    erank_window label naming the probe's window)."""
    from reasongraph.collapse import collapse_table

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
    from reasongraph.html.sweep import write_sweep_html

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
