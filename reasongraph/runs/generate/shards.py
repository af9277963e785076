"""The entropy shards of a generate run: one ``.npz`` per sampling call, read back by id."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from reasongraph.core.errors import InputError
from reasongraph.core.storage import atomic_write
from reasongraph.runs.generate.output import entropy_dir
from reasongraph.trace.sampling.decode import Sample

__all__ = ["load_policy_entropy", "load_token_ids", "write_shard"]


# ---------------------------------------------------------------------- entropy shards
def write_shard(path: Path, ids: list[str], drawn: list[Sample]) -> None:
    arrays = {"ids": np.array(ids, dtype=str),
              "lengths": np.array([len(s.token_ids) for s in drawn], dtype=np.int64),
              "entropy": np.concatenate([s.entropy for s in drawn]).astype(np.float32),
              "token_ids": np.concatenate([s.token_ids for s in drawn]).astype(np.int64)}
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays), suffix=".npz")


def _read_shards(path: str | os.PathLike) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(record id, entropy, token ids) of every record in the shards of ``path`` (the JSONL or its folder)."""
    folder = Path(path) if Path(path).is_dir() else entropy_dir(path)
    if not folder.is_dir():
        raise InputError(f"{path}: no recorded entropies ({folder} is missing); was it written by generate?")
    for shard in sorted(folder.glob("*.npz")):
        if shard.name.startswith("."):
            continue  # the temporary file of a write cut short by a kill
        try:
            with np.load(shard, allow_pickle=False) as z:
                ids, lengths, entropy, token_ids = z["ids"], z["lengths"], z["entropy"], z["token_ids"]
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"{shard}: not a readable entropy shard ({e})") from None
        bounds = np.cumsum(lengths)[:-1]
        yield from zip(ids.tolist(), np.split(entropy, bounds), np.split(token_ids, bounds))


def load_policy_entropy(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The entropies recorded at sampling time: {record id: float32 array, one value per generated token, nats}.

    ``path`` is the generated JSONL (its ``.entropy/`` folder is read) or that folder. Value i is H of
    softmax(z_i / T) over the whole vocabulary for generated token i, the final EOS left out. A shard written
    just before a kill may hold ids not (yet) in the JSONL; a resumed run rewrites it with the same values.
    """
    return {rid: h for rid, h, _ in _read_shards(path)}


def load_token_ids(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The generated token ids behind the recorded entropies: {record id: int64 array}, aligned with them."""
    return {rid: ids for rid, _, ids in _read_shards(path)}
