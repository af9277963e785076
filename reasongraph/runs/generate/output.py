"""The files of a generate run: the JSONL, its manifest (checked on resume), its entropy shards and trace-cache
folder; the record of one sample."""
from __future__ import annotations

from typing import TYPE_CHECKING
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.hashing import GENERATE_V1, config_sha256, tree_sha256
from reasongraph.core.storage import atomic_write_json, read_json, read_jsonl, repair_jsonl
from reasongraph.trace.sampling.decode import Sample

if TYPE_CHECKING:
    from reasongraph.runs.records.prompts import Prompt

__all__ = ["entropy_dir", "manifest_path", "sample_id"]


_MANIFEST_FORMAT = "reasongraph.generate"
# 2: a prompt's KV cache is computed once and shared by its rows; 3: each row draws from its own stream
_MANIFEST_VERSION = 3


# ---------------------------------------------------------------------- the output and its manifest
def manifest_path(out: str | os.PathLike) -> Path:
    """``<out>.manifest.json``: the options of the run that writes ``out``."""
    return Path(f"{os.fspath(out)}.manifest.json")


def entropy_dir(out: str | os.PathLike) -> Path:
    """``<out>.entropy/``: the folder of entropy shards of ``out``."""
    return Path(f"{os.fspath(out)}.entropy")


def traces_dir(out: str | os.PathLike) -> Path:
    """``<out>.traces/``: where ``generate(score=True)`` writes its trace-cache entries unless told otherwise."""
    return Path(f"{os.fspath(out)}.traces")


def _open_output(out: Path, options: dict, source: Any) -> set[str]:
    """Check or write the manifest, repair a torn last line; the ids already written."""
    manifest, shards = manifest_path(out), entropy_dir(out)
    if out.is_dir():
        raise InputError(f"{opt('out')} {out} is a folder; give the path of the .jsonl file to write")
    if manifest.exists():
        old = read_json(manifest, "generate manifest")
        if not isinstance(old, dict) or old.get("format") != _MANIFEST_FORMAT or not isinstance(
                old.get("options"), dict):
            raise InputError(f"{manifest} is not a reasongraph generate manifest; use another {opt('out')}")
        if old.get("version") != _MANIFEST_VERSION:
            raise InputError(f"{out} was written by a reasongraph that samples differently (generate format "
                             f"version {old.get('version')!r}, now {_MANIFEST_VERSION}); its missing samples "
                             f"would not match its others, so use another {opt('out')}")
        diff = [k for k in sorted(set(old["options"]) | set(options)) if old["options"].get(k) != options.get(k)]
        if diff:
            said = "; ".join(f"{k}: run has {old['options'].get(k)!r}, now {options.get(k)!r}" for k in diff[:4])
            raise InputError(f"{out} holds samples generated with other options ({said}); resume with the same "
                             f"options, or use another {opt('out')} (or delete {out} and its "
                             f"{manifest.name} and {shards.name}/)")
    else:
        if (out.exists() and out.stat().st_size) or (shards.is_dir() and any(shards.iterdir())):
            raise InputError(f"{out} exists without its manifest {manifest.name}, so it is not a generate run to "
                             f"resume; use another {opt('out')}")
        out.parent.mkdir(parents=True, exist_ok=True)
        where = str(Path(source).resolve()) if isinstance(source, (str, os.PathLike)) else None
        atomic_write_json(manifest, {"format": _MANIFEST_FORMAT, "version": _MANIFEST_VERSION, "input": where,
                                     "options": options})
    shards.mkdir(exist_ok=True)
    repair_jsonl(out)
    return {r.get("id") for r in read_jsonl(out)}


def _input_sha256(prompts: Any) -> str:
    """Content hash of the prompts (every file of a saved-dataset folder), so changed prompts are not resumed."""
    if not isinstance(prompts, (str, os.PathLike)):
        return hashlib.sha256(json.dumps(list(prompts)).encode("utf-8", "surrogatepass")).hexdigest()
    return tree_sha256(prompts, scheme=GENERATE_V1)


def _config_sha256(lm: Any) -> str:
    return config_sha256(getattr(lm.model, "config", None))


def sample_id(prompt_id: str, k: int) -> str:
    """The record id of sample ``k`` of a prompt: ``"<prompt id>/s<k>"``."""
    return f"{prompt_id}/s{k}"


def _record(tokenizer: Any, p: Prompt, k: int, rid: str, s: Sample, common: dict) -> dict:
    text = tokenizer.decode(s.token_ids.tolist(), skip_special_tokens=True, clean_up_tokenization_spaces=False)
    again = tokenizer(text, add_special_tokens=False)["input_ids"]
    return {"id": rid, "prompt_id": p.id, "sample": k, "prompt": p.text, "trace": text, **common,
            "finish_reason": s.finish_reason, "n_tokens": len(s.token_ids),
            "ids_round_trip": list(again) == s.token_ids.tolist()}
