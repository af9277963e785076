"""The files of a generate run: the JSONL, its manifest (checked on resume) and lock, its entropy shards and
trace-cache folder; the record of one sample."""
from __future__ import annotations

from typing import TYPE_CHECKING
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.hashing import GENERATE_V1, config_sha256, tree_sha256
from reasongraph.core.manifest import ManifestLock, ManifestMessages
from reasongraph.core.storage import read_jsonl, repair_jsonl
from reasongraph.trace.sampling.decode import Sample

if TYPE_CHECKING:
    from reasongraph.runs.records.prompts import Prompt

__all__ = ["GenerateOutput", "entropy_dir", "input_sha256", "lock_path", "manifest_path", "model_config_sha256",
           "sample_id", "sample_record", "traces_dir"]


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


def lock_path(out: str | os.PathLike) -> Path:
    """``<out>.lock``: held by the one process that writes ``out``."""
    return Path(f"{os.fspath(out)}.lock")


class GenerateOutput:
    """The output of a generate run, locked while open: its manifest checked or written, a torn last line
    repaired; ``done`` holds the ids already written. A second writer of the same ``out`` is refused."""

    def __init__(self, out: Path, options: dict, source: Any) -> None:
        manifest, shards = manifest_path(out), entropy_dir(out)
        if out.is_dir():
            raise InputError(f"{opt('out')} {out} is a folder; give the path of the .jsonl file to write")
        out.parent.mkdir(parents=True, exist_ok=True)
        where = str(Path(source).resolve()) if isinstance(source, (str, os.PathLike)) else None
        self._lock = ManifestLock(manifest, lock_path(out), format=_MANIFEST_FORMAT, version=_MANIFEST_VERSION,
                                  options=options, header={"input": where}, messages=_messages(out),
                                  is_empty=lambda: not ((out.exists() and out.stat().st_size) or
                                                        (shards.is_dir() and any(shards.iterdir()))))
        try:
            shards.mkdir(exist_ok=True)
            repair_jsonl(out)
            self.done: set[str] = {r.get("id") for r in read_jsonl(out)}
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the lock (the OS releases it too if the process dies)."""
        self._lock.close()

    def __enter__(self) -> GenerateOutput:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _messages(out: Path) -> ManifestMessages:
    manifest, shards = manifest_path(out), entropy_dir(out)
    return ManifestMessages(
        busy=f"{out} is being written by another process; wait for it to finish, or use another {opt('out')}",
        unwritable=lambda e: f"{opt('out')} {out}: cannot write next to it ({e.strerror})",
        foreign=f"{manifest} is not a reasongraph generate manifest; use another {opt('out')}",
        version=lambda old: (f"{out} was written by a reasongraph that samples differently (generate format "
                             f"version {old!r}, now {_MANIFEST_VERSION}); its missing samples would not match "
                             f"its others, so use another {opt('out')}"),
        differ=lambda said: (f"{out} holds samples generated with other options ({said}); resume with the same "
                             f"options, or use another {opt('out')} (or delete {out} and its {manifest.name} and "
                             f"{shards.name}/)"),
        not_empty=(f"{out} exists without its manifest {manifest.name}, so it is not a generate run to resume; "
                   f"use another {opt('out')}"),
        json_what="generate manifest")


def input_sha256(prompts: Any) -> str:
    """Content hash of the prompts (every file of a saved-dataset folder), so changed prompts are not resumed."""
    if not isinstance(prompts, (str, os.PathLike)):
        return hashlib.sha256(json.dumps(list(prompts)).encode("utf-8", "surrogatepass")).hexdigest()
    return tree_sha256(prompts, scheme=GENERATE_V1)


def model_config_sha256(lm: Any) -> str:
    return config_sha256(getattr(lm.model, "config", None))


def sample_id(prompt_id: str, k: int) -> str:
    """The record id of sample ``k`` of a prompt: ``"<prompt id>/s<k>"``."""
    return f"{prompt_id}/s{k}"


def sample_record(tokenizer: Any, p: Prompt, k: int, rid: str, s: Sample, common: dict) -> dict:
    text = tokenizer.decode(s.token_ids.tolist(), skip_special_tokens=True, clean_up_tokenization_spaces=False)
    again = tokenizer(text, add_special_tokens=False)["input_ids"]
    return {"id": rid, "prompt_id": p.id, "sample": k, "prompt": p.text, "trace": text, **common,
            "finish_reason": s.finish_reason, "n_tokens": len(s.token_ids),
            "ids_round_trip": list(again) == s.token_ids.tolist()}
