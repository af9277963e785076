"""A seeded uniform sample of rows from a stream, the same whatever the chunking: what a dataset fit sees."""
from __future__ import annotations

import numpy as np

__all__ = ["ReservoirSample"]


class ReservoirSample:
    """A uniform sample without replacement of at most ``cap`` rows from a stream, in stream order.

    Every row gets a priority from a seeded generator as it arrives; the sample is the ``cap`` rows of lowest
    priority (a bottom-k sample), so it depends only on the stream and the seed, never on when it is compacted:
    a resumed run that feeds the same rows in the same order fits on the same sample. ``cap=None`` keeps
    everything.
    """

    def __init__(self, cap: int | None, seed: int) -> None:
        self.cap = cap
        self.rng = np.random.default_rng(seed)
        self.parts: list[np.ndarray] = []
        self.prio: list[np.ndarray] = []
        self.pos: list[np.ndarray] = []
        self.n_seen = 0
        self._n_held = 0

    def add(self, rows: np.ndarray) -> None:
        n = len(rows)
        self.parts.append(rows)
        if self.cap is not None:
            self.prio.append(self.rng.random(n))
            self.pos.append(np.arange(self.n_seen, self.n_seen + n))
            self._n_held += n
            if self._n_held > 2 * self.cap:
                self._compact()
        self.n_seen += n

    def _compact(self) -> None:
        rows, prio, pos = np.concatenate(self.parts), np.concatenate(self.prio), np.concatenate(self.pos)
        if len(rows) > self.cap:
            keep = np.sort(np.argpartition(prio, self.cap - 1)[:self.cap])  # sorted: stream order
            rows, prio, pos = rows[keep], prio[keep], pos[keep]
        self.parts, self.prio, self.pos, self._n_held = [rows], [prio], [pos], len(rows)

    def values(self) -> np.ndarray:
        if not self.parts:
            return np.zeros(0)
        if self.cap is not None:
            self._compact()
        return np.concatenate(self.parts)
