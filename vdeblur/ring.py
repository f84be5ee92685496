"""FrameRing: the K newest frames in the model's layout, preallocated, windows without copies.

Ownership: the ring owns its storage for its whole life. `push` copies a frame in; `window()` returns a
view into the storage that stays valid until the next `push` (which may overwrite the oldest slot the
view still shows). A consumer that needs the window longer must copy it.

Each frame is written twice, at slot i and slot i + K, so the K newest frames are always one contiguous
slice of the 2K-slot storage: a window costs no copy.

Storage: a numpy array on the CPU (no torch on the CPU engines' path), a torch tensor on a GPU.
"""
from __future__ import annotations

import numpy as np


def on_gpu(device) -> bool:
    """Whether a device ("cpu", "cuda", "cuda:1" or a torch.device) is a GPU: arrays there are torch tensors."""
    return str(device).startswith("cuda")


def _copy(a):
    return a.clone() if hasattr(a, "clone") else a.copy()


class FrameRing:
    def __init__(self, k: int, shape: tuple[int, int, int], device="cpu", dtype: str = "float32",
                 contiguous: bool = True):
        """k frames of shape (C, H, W) (or (H, W, C)), of a numpy dtype name. contiguous=False keeps each
        frame once (k slots, half the memory): window() is then unavailable and frames() gives the k views
        in order (tiles copy them anyway)."""
        if k < 1:
            raise ValueError("a ring needs at least one slot")
        self.k = k
        self.shape = tuple(shape)
        self.contiguous = contiguous
        n = (2 if contiguous else 1) * k
        if on_gpu(device):
            import torch

            self._store = torch.empty((n, *shape), device=device, dtype=getattr(torch, dtype))
        else:
            self._store = np.empty((n, *shape), dtype=dtype)
        self.device = device
        self._next = 0      # slot the next frame goes to, in [0, k)
        self.count = 0      # frames pushed since the last clear

    def clear(self) -> None:
        self._next = 0
        self.count = 0

    def push(self, frame) -> None:
        """Copy a frame in (an array of the storage's kind). The first frame after clear() fills every slot,
        so the first window repeats it (the network was trained that way)."""
        if tuple(frame.shape) != self.shape:
            raise ValueError(f"frame shape {tuple(frame.shape)} does not match the ring's {self.shape}")
        if self.count == 0:
            self._store[...] = frame
        else:
            i = self._next
            self._store[i] = frame
            if self.contiguous:
                self._store[i + self.k] = self._store[i]
        self._next = (self._next + 1) % self.k
        self.count += 1

    def slot_for_next(self):
        """The storage the next frame goes to, for a producer to convert straight into it; then commit()."""
        return self._store[self._next]

    def commit(self) -> None:
        """Make the frame written into slot_for_next() the newest (as push() would, without a copy in)."""
        i = self._next
        if self.count == 0:
            self._store[...] = _copy(self._store[i])
        elif self.contiguous:
            self._store[i + self.k] = self._store[i]
        self._next = (self._next + 1) % self.k
        self.count += 1

    def window(self):
        """(K, C, H, W) view, oldest first. Valid until the next push."""
        if self.count == 0:
            raise RuntimeError("window() on an empty ring")
        if not self.contiguous:
            raise RuntimeError("window() needs a contiguous ring; use frames()")
        start = self._next
        return self._store[start:start + self.k]

    def frames(self) -> list:
        """The K newest frames, oldest first, as views (any ring). Valid until the next push."""
        if self.count == 0:
            raise RuntimeError("frames() on an empty ring")
        return [self._store[(self._next + j) % self.k] for j in range(self.k)]
