"""--quality high, for files: every frame is deblurred three ways and the three results averaged:

    forward in time              (the ordinary pass, with its scene cuts)
    forward, mirrored left-right (the network's errors are not mirror-symmetric: they partly cancel)
    backward in time             (the recurrent state then carries the *next* frames' information)

The backward pass runs over short chunks: once `chunk + lookahead` frames are waiting, the network runs
from the newest of them back to the oldest with a fresh state, and the oldest `chunk` frames are finished
(the `lookahead` newer ones only warm its state, and wait for the next chunk). A chunk never crosses a
scene cut or a change of frame size: frames before one are finished at once. About 3.4 network steps a
frame; latency and memory of chunk + lookahead frames (fewer frames for big pictures: MAX_BUFFER_BYTES).

Outputs come later than their inputs, so this processor has the delayed contract (DelayedProcessor):
push(rgb) -> the outputs now finished, oldest first; flush() -> the rest.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .deblurrer import Deblurrer

MAX_BUFFER_BYTES = 1 << 30      # frames waiting for their backward pass, at most about this much memory
SLOTS_APART = 1 << 16           # backend state slots of one pass: first_slot + tile index


@runtime_checkable
class DelayedProcessor(Protocol):
    """A model step whose outputs come later than their inputs, in input order."""

    scene_cuts: int

    def push(self, rgb: np.ndarray, signature=None) -> list[np.ndarray]: ...

    def flush(self) -> list[np.ndarray]: ...

    def reset(self) -> None: ...


def chunk_sizes(h: int, w: int, chunk: int = 32, lookahead: int = 12) -> tuple[int, int]:
    """(chunk, lookahead) that keep the waiting frames (9 bytes a pixel: the input and a 16-bit sum of the
    two forward results) under MAX_BUFFER_BYTES, keeping the chunk three times the lookahead."""
    fits = max(4, MAX_BUFFER_BYTES // max(1, 9 * h * w))
    if fits >= chunk + lookahead:
        return chunk, lookahead
    look = max(1, fits // 4)
    return fits - look, look


class EnsembleDeblurrer:
    """--quality high (module docstring). Same backend, scene cuts and tiles as Deblurrer; each of the three
    passes has its own recurrent state. push() returns (H, W, 3) uint8 frames."""

    def __init__(self, backend, timer=None, scene_cut: bool = True, tile: int | None = None,
                 chunk: int | None = None, lookahead: int | None = None):
        # One backend, three recurrent states: each pass has its own state slots (tiles: one per tile).
        self.forward = Deblurrer(backend, timer, owns_backend=False, scene_cut=scene_cut, tile=tile)
        self.mirrored = Deblurrer(backend, None, owns_backend=False, scene_cut=False, tile=tile,
                                  first_slot=SLOTS_APART)
        self.backward = Deblurrer(backend, None, owns_backend=False, scene_cut=False, tile=tile,
                                  first_slot=2 * SLOTS_APART)
        self._fixed = (chunk, lookahead)
        self.chunk = self.lookahead = 0
        self._size: tuple[int, int] | None = None
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []   # (input, forward + mirrored as uint16)

    @property
    def scene_cuts(self) -> int:
        return self.forward.scene_cuts

    @property
    def grid(self):
        """The tile grid of each pass (geometry.TileGrid), or None for whole frames."""
        return self.forward.grid

    def push(self, rgb: np.ndarray, signature=None) -> list[np.ndarray]:
        ready: list[np.ndarray] = []
        size = rgb.shape[:2]
        if size != self._size:
            ready += self.flush()
            self._size = size
            self.chunk, self.lookahead = chunk_sizes(*size)
            self.chunk = self._fixed[0] or self.chunk
            self.lookahead = self._fixed[1] if self._fixed[1] is not None else self.lookahead
        cuts = self.forward.scene_cuts
        ahead = self.forward.process(rgb, signature)
        if self.forward.scene_cuts != cuts:         # the backward pass must not carry one shot into another
            ready += self.flush()
            self.mirrored.reset()
        # Views, not copies: the Deblurrer reads any strides into its own ring.
        total = ahead.astype(np.uint16)
        total += self.mirrored.process(rgb[:, ::-1])[:, ::-1]
        self.pending.append((rgb, total))
        if len(self.pending) >= self.chunk + self.lookahead:
            ready += self._finish(self.chunk)
        return ready

    def flush(self) -> list[np.ndarray]:
        """Finish every waiting frame (the end of the input, a cut, a new size)."""
        return self._finish(len(self.pending))

    def reset(self) -> None:
        """Forget the past (the caller flushes first: what waits is finished, not dropped)."""
        self.pending.clear()
        for d in (self.forward, self.mirrored, self.backward):
            d.reset()

    def _finish(self, n: int) -> list[np.ndarray]:
        """Run the backward pass over every waiting frame, newest first, and finish the oldest n."""
        if not self.pending or n <= 0:
            return []
        self.backward.reset()
        behind: list[np.ndarray] = [None] * len(self.pending)   # type: ignore[list-item]
        for i in range(len(self.pending) - 1, -1, -1):
            behind[i] = self.backward.process(self.pending[i][0])
        out = []
        for i in range(n):
            total = self.pending[i][1]                  # uint16, at most 3 x 255, summed in place
            total += behind[i]
            total += 1
            total //= 3                                 # the mean, rounded
            out.append(total.astype(np.uint8))
        del self.pending[:n]
        return out
