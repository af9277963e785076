"""The checkpoints of a training run: finding them, checking they share one architecture, and the rewards their
trainer logged."""
from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.storage import read_json
from reasongraph.train.trainer_layouts import checkpoint_folders

__all__ = ["ARCHITECTURE_KEYS", "Checkpoint", "find_checkpoints", "read_rewards"]


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


# ---------------------------------------------------------------------- the inputs, checked before any model loads
def find_checkpoints(paths: Sequence[str | os.PathLike]) -> list[Checkpoint]:
    """The checkpoints named by ``paths``, ordered by training step, each checked to be a loadable model.

    A path is a saved model folder, or a run folder whose checkpoint folders are taken: ``checkpoint-<step>`` (the
    Hugging Face Trainer), ``global_step_<step>/actor/huggingface`` (verl, after its model merger) or
    ``global_step<step>_hf`` (OpenRLHF); see :mod:`reasongraph.train.trainer_layouts`. A model's step is
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
    config = read_json(path / "config.json", what="model config")
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
    state = read_json(path, what="trainer state")
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a trainer state (a JSON object with global_step and log_history)")
    return state
