"""Layer states on disk: float32 matrices written block by block while a model runs, read back block by block
while the other model runs, so the two models' states never share memory.

Each named matrix is one raw little-endian float32 file (no pickle, no header to parse) plus, in memory, the
row ranges of the blocks appended to it. Blocks are appended in order (one per text) and read back by their index
or all at once. bfloat16 and float16 states widen to float32 exactly, so a state read back and cast to the model's
dtype is the state that was written.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np

__all__ = ["LayerStore"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class LayerStore:
    """A folder of appendable float32 matrices.

    Parameters
    ----------
    directory : created if missing; :meth:`remove` deletes it (only the files this store wrote, then the folder
        if it is empty).
    """

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._blocks: dict[str, list[tuple[int, int]]] = {}
        self._width: dict[str, int] = {}

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"a store name holds letters, digits, '.', '_' and '-' only, got {name!r}")
        return self.dir / f"{name}.f32"

    def append(self, name: str, rows: np.ndarray) -> int:
        """Append a (n, d) block to ``name`` and return its index; every block of a name has the same d."""
        rows = np.ascontiguousarray(rows, dtype="<f4")
        if rows.ndim != 2:
            raise ValueError(f"a block is a (rows, d) matrix, got shape {rows.shape}")
        width = self._width.setdefault(name, rows.shape[1])
        if rows.shape[1] != width:
            raise ValueError(f"{name}: blocks of width {width}, got {rows.shape[1]}")
        blocks = self._blocks.setdefault(name, [])
        start = blocks[-1][1] if blocks else 0
        if not blocks:
            self._path(name).unlink(missing_ok=True)  # a leftover of an earlier run in a kept folder
        with open(self._path(name), "ab") as f:
            f.write(rows.tobytes())
        blocks.append((start, start + len(rows)))
        return len(blocks) - 1

    def n_blocks(self, name: str) -> int:
        return len(self._blocks.get(name, ()))

    def block(self, name: str, index: int) -> np.ndarray:
        """The ``index``-th block appended to ``name``."""
        start, stop = self._blocks[name][index]
        return self._read(name, start, stop)

    def read(self, name: str, *, rows: np.ndarray | None = None) -> np.ndarray:
        """All rows of ``name`` (or the chosen ``rows``), as one (n, d) float32 array."""
        stop = self._blocks[name][-1][1] if self._blocks.get(name) else 0
        whole = self._read(name, 0, stop) if stop else np.zeros((0, self._width.get(name, 0)), np.float32)
        return whole if rows is None else whole[np.asarray(rows, dtype=np.int64)]

    def _read(self, name: str, start: int, stop: int) -> np.ndarray:
        d = self._width[name]
        data = np.fromfile(self._path(name), dtype="<f4", count=(stop - start) * d, offset=start * d * 4)
        return data.reshape(stop - start, d)

    def nbytes(self) -> int:
        """Bytes written so far."""
        return sum(blocks[-1][1] * self._width[name] * 4 for name, blocks in self._blocks.items() if blocks)

    def remove(self) -> None:
        """Delete the files written here, and the folder when nothing else is left in it."""
        for name in self._blocks:
            self._path(name).unlink(missing_ok=True)
        self._blocks.clear()
        if self.dir.is_dir() and not any(self.dir.iterdir()):
            shutil.rmtree(self.dir, ignore_errors=True)
