"""`Growing`: an array appended to along its first axis, for what the decode pass and the
analysers keep per sample or per audio sample (the 16 kHz PCM, continuity's thumbnails, the
voice gate's probabilities).

It is allocated once at the size the declared duration calls for (pages never written cost no
memory) and doubled when a clip runs longer; `view()` is the filled part, without a copy: no
list of pieces joined at the end, which would hold everything twice.  A reader in another
thread that reads `n` first, then `data`, sees only written items: `n` moves after the items
are in place, and a grown array holds every item of the old one before it replaces it."""

from __future__ import annotations

from typing import Any

import numpy as np


class Growing:
    def __init__(self, capacity: int, item_shape: tuple[int, ...] = (), dtype: Any = np.float32):
        self.data = np.empty((max(1, int(capacity)), *item_shape), dtype)
        self.n = 0

    def extend(self, items: np.ndarray) -> None:
        end = self.n + len(items)
        if end > len(self.data):
            grown = np.empty((max(end, 2 * len(self.data)), *self.data.shape[1:]), self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : end] = items
        self.n = end

    def append(self, item: np.ndarray) -> None:
        self.extend(np.asarray(item)[None])

    def view(self) -> np.ndarray:
        return self.data[: self.n]
