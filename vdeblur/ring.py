"""FrameRing: the K newest frames in the model's layout, preallocated, windows without copies.

Ownership: the ring owns its storage for its whole life. `push` copies a frame in; `window()` returns a
view into the storage that stays valid until the next `push` (which may overwrite the oldest slot the
view still shows). A consumer that needs the window longer must copy it.

Each frame is written twice, at slot i and slot i + K, so the K newest frames are always one contiguous
slice of the 2K-slot storage: a window costs no copy.
"""
from __future__ import annotations

import torch


class FrameRing:
    def __init__(self, k: int, shape: tuple[int, int, int], device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32, pin_memory: bool = False, contiguous: bool = True):
        """k frames of shape (C, H, W). contiguous=False keeps each frame once (k slots, half the memory):
        window() is then unavailable and frames() gives the k views in order (tiles copy them anyway)."""
        if k < 1:
            raise ValueError("a ring needs at least one slot")
        self.k = k
        self.shape = tuple(shape)
        self.contiguous = contiguous
        self._store = torch.empty(((2 if contiguous else 1) * k, *shape), device=device, dtype=dtype,
                                  pin_memory=pin_memory and torch.device(device).type == "cpu")
        self._next = 0      # slot the next frame goes to, in [0, k)
        self.count = 0      # frames pushed since the last clear

    @property
    def device(self) -> torch.device:
        return self._store.device

    def clear(self) -> None:
        self._next = 0
        self.count = 0

    def push(self, frame: torch.Tensor) -> None:
        """Copy a (C, H, W) frame in. The first frame after clear() fills every slot, so the first window
        repeats it (the network was trained that way)."""
        if tuple(frame.shape) != self.shape:
            raise ValueError(f"frame shape {tuple(frame.shape)} does not match the ring's {self.shape}")
        if self.count == 0:
            self._store.copy_(frame.expand_as(self._store))
        else:
            i = self._next
            self._store[i].copy_(frame, non_blocking=True)
            if self.contiguous:
                self._store[i + self.k].copy_(self._store[i])
        self._next = (self._next + 1) % self.k
        self.count += 1

    def slot_for_next(self) -> torch.Tensor:
        """The storage the next frame goes to, for a producer to convert straight into it; then commit()."""
        return self._store[self._next]

    def commit(self) -> None:
        """Make the frame written into slot_for_next() the newest (as push() would, without a copy in)."""
        i = self._next
        if self.count == 0:
            self._store.copy_(self._store[i].expand_as(self._store).clone())
        elif self.contiguous:
            self._store[i + self.k].copy_(self._store[i])
        self._next = (self._next + 1) % self.k
        self.count += 1

    def window(self) -> torch.Tensor:
        """(K, C, H, W) view, oldest first. Valid until the next push."""
        if self.count == 0:
            raise RuntimeError("window() on an empty ring")
        if not self.contiguous:
            raise RuntimeError("window() needs a contiguous ring; use frames()")
        start = self._next
        return self._store[start:start + self.k]

    def frames(self) -> list[torch.Tensor]:
        """The K newest frames, oldest first, as views (any ring). Valid until the next push."""
        if self.count == 0:
            raise RuntimeError("frames() on an empty ring")
        return [self._store[(self._next + j) % self.k] for j in range(self.k)]
