"""Where trainers leave their checkpoints, and which of them reasongraph can load (Hugging Face format only).

Three layouts are read, each a folder of per-step model folders:

- the Hugging Face Trainer (and TRL): ``RUN/checkpoint-<N>/`` (config.json, safetensors, tokenizer);
- verl: ``RUN/global_step_<N>/actor/huggingface/``, a Hugging Face model once ``verl.model_merger`` has merged
  the actor's shards into it (verl saves only the config and tokenizer there during training, unless its
  ``checkpoint.save_contents`` includes ``hf_model``);
- OpenRLHF: ``CKPT/global_step<N>_hf/``, written with ``--save_hf_ckpt``.

The trainers' own training checkpoints (verl's ``model_world_size_<W>_rank_<R>.pt`` shards, DeepSpeed's
``mp_rank_00_model_states.pt`` under OpenRLHF's ``_actor/global_step<N>/``) are pickles, which reasongraph never
loads: for those the error gives the exact command that exports the Hugging Face folder.
"""
from __future__ import annotations

import re
from pathlib import Path

from reasongraph.core.errors import InputError

__all__ = ["checkpoint_folders", "model_folder"]

_HF_TRAINER = re.compile(r"checkpoint-(\d+)")
_VERL = re.compile(r"global_step_(\d+)")
_OPENRLHF_HF = re.compile(r"global_step(\d+)_hf")
_OPENRLHF_DS = re.compile(r"global_step(\d+)")


def _loadable(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _verl_shards(folder: Path) -> bool:
    return any(folder.glob("model_world_size_*_rank_*.pt")) or (folder / "dist_ckpt").is_dir()


def _verl_export(actor: Path) -> str:
    backend = "megatron" if (actor / "dist_ckpt").is_dir() else "fsdp"
    return (f"python -m verl.model_merger merge --backend {backend} --local_dir {actor} "
            f"--target_dir {actor / 'huggingface'}")


def _deepspeed_export(ds_dir: Path, tag: str) -> str:
    step = _OPENRLHF_DS.fullmatch(tag)
    target = ds_dir.parent / f"{tag}_hf" if step else ds_dir.parent / f"{tag}-hf"
    return (f"python {ds_dir / 'zero_to_fp32.py'} {ds_dir} {target} -t {tag} --safe_serialization, then copy "
            f"config.json and the tokenizer files of the model you trained from into {target} (or train with "
            "OpenRLHF's --save_hf_ckpt, which writes that folder itself)")


def _native(what: str, command: str) -> InputError:
    return InputError(f"{what} holds only the trainer's own checkpoint (pickled shards, which reasongraph never "
                      f"loads); export it in Hugging Face format with: {command}")


def model_folder(path: str | Path) -> Path:
    """The Hugging Face model folder a checkpoint path stands for: the folder itself, or the ``actor/huggingface``
    folder of a verl step folder (``global_step_<N>``) or actor folder.

    Raises
    ------
    InputError : the path is a trainer checkpoint with only pickled shards (the message gives the export command).
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        return path
    if (path / "config.json").is_file():
        if path.name == "huggingface" and _verl_shards(path.parent) and not _loadable(path):
            raise _native(f"the verl checkpoint {path.parent}", _verl_export(path.parent))
        return path
    actor = path / "actor" if (path / "actor").is_dir() else path
    if (actor / "huggingface").is_dir() or _verl_shards(actor):
        if _loadable(actor / "huggingface"):
            return actor / "huggingface"
        raise _native(f"the verl checkpoint {path}", _verl_export(actor))
    if (path / "mp_rank_00_model_states.pt").is_file() or any(path.glob("zero_pp_rank_*_model_states.pt")):
        raise _native(f"the DeepSpeed checkpoint {path}", _deepspeed_export(path.parent, path.name))
    return path


def _step_of(path: Path) -> int | None:
    """The step in the name of a checkpoint folder, or of the verl step folder above ``actor/huggingface``."""
    for name in (path.name, path.parent.name, path.parent.parent.name):
        match = _VERL.fullmatch(name) or _OPENRLHF_HF.fullmatch(name) or _HF_TRAINER.fullmatch(name)
        if match:
            return int(match.group(1))
    return None


def checkpoint_folders(path: str | Path) -> list[tuple[Path, int | None]]:
    """The model folders a path names, each with its training step when the layout says it (None otherwise):
    the path itself when it is a model (or a verl step folder), else the per-step folders of a run folder in any
    of the three layouts, in no particular order.

    Raises
    ------
    InputError : a run folder whose checkpoints are only pickled shards (with the export command), or a folder
        that holds no checkpoint in any known layout.
    """
    path = Path(path).expanduser()
    folder = model_folder(path)
    if (folder / "config.json").is_file():
        return [(folder, _step_of(path))]
    found: list[tuple[Path, int | None]] = []
    for child in sorted(p for p in path.iterdir() if p.is_dir()):
        match = _HF_TRAINER.fullmatch(child.name) or _OPENRLHF_HF.fullmatch(child.name)
        if match:
            found.append((child, int(match.group(1))))
        elif _VERL.fullmatch(child.name):
            found.append((model_folder(child), int(_VERL.fullmatch(child.name).group(1))))
    if found:
        return found
    ds = path / "_actor" if (path / "_actor").is_dir() else path
    tags = sorted((p for p in ds.iterdir() if p.is_dir() and _OPENRLHF_DS.fullmatch(p.name)),
                  key=lambda p: int(p.name.removeprefix("global_step")))
    if tags:
        raise _native(f"the OpenRLHF checkpoint folder {path}", _deepspeed_export(ds, tags[-1].name)
                      + f" (shown for the last step, {tags[-1].name}; the same for each)")
    raise InputError(f"checkpoint {path}: not a model (no config.json) and holds no checkpoint folders "
                     "(checkpoint-<step> of the Hugging Face Trainer, global_step_<step> of verl, "
                     "global_step<step>_hf of OpenRLHF)")
