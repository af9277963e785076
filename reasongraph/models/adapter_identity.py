"""What identifies an adapter: a hash of its tensors and canonical config (not its folder), and its label in model
names."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

from reasongraph.core.errors import ModelNotAvailableError
from reasongraph.models.adapters import ADAPTER_CONFIG, ADAPTER_WEIGHTS, check_adapter

__all__ = ["adapter_label", "adapter_sha256"]


#: Config fields left out of the identity: where the base or the adapter came from, and which peft wrote it.
_NOT_IDENTITY = frozenset({"base_model_name_or_path", "revision", "peft_version", "inference_mode", "auto_mapping"})


def adapter_label(folder: Path, spec: str) -> str:
    """How an adapter shows in a model's name: ``<folder name>@<first 8 hex digits of its identity>``."""
    return f"{folder.resolve().name}@{adapter_sha256(folder, spec=spec)[:8]}"


def adapter_sha256(folder: Path, *, spec: str = "") -> str:
    """The adapter's identity: SHA-256 over its tensors (sorted by name) and its canonical config (see module doc)."""
    check_adapter(folder, spec or str(folder), need_peft=False)
    files = [folder / ADAPTER_WEIGHTS, folder / ADAPTER_CONFIG]
    stamp = tuple((str(f.resolve()), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _sha256(stamp, spec or str(folder))


@functools.lru_cache(maxsize=64)
def _sha256(stamp: tuple, spec: str) -> str:
    weights, config_path = Path(stamp[0][0]), Path(stamp[1][0])
    h = hashlib.sha256(b"reasongraph.adapter/1\0")
    with open(weights, "rb") as f:
        header, start = _safetensors_header(f, weights, spec)
        for name in sorted(k for k in header if k != "__metadata__"):
            entry = header[name]
            begin, end = entry["data_offsets"]
            f.seek(start + begin)
            data = f.read(end - begin)
            if len(data) != end - begin:
                raise ModelNotAvailableError(f"model {spec!r}: {weights} is truncated (tensor {name})")
            h.update(json.dumps([name, entry["dtype"], entry["shape"], len(data)]).encode() + b"\0" + data)
    h.update(b"\0config\0" + canonical_config(json.loads(config_path.read_text(encoding="utf-8"))).encode())
    return h.hexdigest()


def _safetensors_header(f: Any, path: Path, spec: str) -> tuple[dict, int]:
    """The safetensors JSON header ({name: {dtype, shape, data_offsets}}) and where the tensor bytes start."""
    size = os.fstat(f.fileno()).st_size
    raw = f.read(8)
    n = struct.unpack("<Q", raw)[0] if len(raw) == 8 else -1
    try:
        if not 0 < n <= size - 8:
            raise ValueError("bad header length")
        header = json.loads(f.read(n))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelNotAvailableError(f"model {spec!r}: {path} is not a safetensors file ({e})") from None
    return header, 8 + n


def canonical_config(config: dict) -> str:
    """The adapter config as it enters the identity: sorted keys, no place/version fields, no null fields (a newer
    peft writes more of them), target_modules sorted (peft saves a set, in no fixed order)."""
    kept = {k: v for k, v in config.items() if k not in _NOT_IDENTITY and v is not None}
    if isinstance(kept.get("target_modules"), list):
        kept["target_modules"] = sorted(kept["target_modules"])
    return json.dumps(kept, sort_keys=True, separators=(",", ":"))
