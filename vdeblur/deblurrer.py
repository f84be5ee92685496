"""The model-step stage: RGB frames in, deblurred RGB frames out, recurrent state carried across calls.

preprocess (uint8 HWC -> float CHW, reflect-pad to the stride) -> ring buffer -> backend.step(window,
state) -> postprocess (crop, clamp, uint8 HWC).
"""
from __future__ import annotations

import time
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .ring import FrameRing


class Deblurrer:
    """Stateful frame-by-frame deblurring with any backend (see vdeblur.backends).

    process(rgb) takes (H, W, 3) uint8 and returns (H, W, 3) uint8. The state resets by itself when the
    frame size changes, and on reset().
    """

    def __init__(self, backend, timer=None, owns_backend: bool = True):
        self.backend = backend
        self.owns_backend = owns_backend
        self.timer = timer          # optional StageTimes with preprocess/inference/postprocess
        self._size: tuple[int, int] | None = None
        self.ring: FrameRing | None = None
        self.state = None

    def _setup(self, h: int, w: int) -> None:
        s = self.backend.stride
        self._size = (h, w)
        self._padded = (-(-h // s) * s, -(-w // s) * s)
        ph, pw = self._padded
        self.ring = FrameRing(self.backend.window, (3, ph, pw), device=self.backend.device)
        self.state = self.backend.init_state(ph, pw)

    def reset(self) -> None:
        """Forget the past (scene cut, reconnect): empty the window, zero the state."""
        if self._size is not None:
            self.ring.clear()
            self.state = self.backend.init_state(*self._padded)

    def _tick(self, stage: str, t0: float) -> float:
        t1 = time.perf_counter()
        if self.timer is not None:
            self.timer.add(stage, (t1 - t0) * 1e3)
        return t1

    def process(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
        h, w = rgb.shape[:2]
        if self._size != (h, w):
            self._setup(h, w)
        t0 = time.perf_counter()
        x = torch.from_numpy(rgb).to(self.ring.device, non_blocking=True).permute(2, 0, 1).float().div_(255)
        ph, pw = self._padded
        if (ph, pw) != (h, w):
            # Reflect needs the pad to be smaller than the side; replicate covers tiny frames.
            mode = "reflect" if (ph - h < h and pw - w < w) else "replicate"
            x = F.pad(x[None], (0, pw - w, 0, ph - h), mode=mode)[0]
        self.ring.push(x)
        t0 = self._tick("preprocess", t0)
        out, self.state = self.backend.step(self.ring.window()[None], self.state)
        if out.device.type == "cuda":
            torch.cuda.current_stream().synchronize()
        t0 = self._tick("inference", t0)
        y = out[0, :, :h, :w].clamp(0, 1).mul(255).round_().to(torch.uint8).permute(1, 2, 0)
        result = np.ascontiguousarray(y.cpu().numpy())
        self._tick("postprocess", t0)
        return result

    def __call__(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for rgb in frames:
            yield self.process(rgb)

    def close(self) -> None:
        if self.owns_backend:
            self.backend.close()
