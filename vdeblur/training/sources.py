"""Where training batches come from: an on-device bank of synthetic clips refreshed by batched online
synthesis (fast on a GPU), or clips pre-rendered with real H.264 by tools/synthesize.py (CPU training).

Every source's `sample(batch)` returns (blurred, sharp) uint8 tensors of shape (B, T, 3, S, S) on the
training device.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .augment import augment
from .synthesis import PhotoBank, SynthSpec, codec_proxy, render, to_uint8


def render_coded(spec: SynthSpec, bank: torch.Tensor, gen: torch.Generator, n: int,
                 rendered: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """n clips through the codec proxy: (blurred, sharp) uint8 (n, T, 3, H, W). Static clips' target is
    their coded input (sharp video must come back as it went in). rendered: filled with render()'s
    result (its true blur lengths, motion) for callers that need them."""
    r = render(spec, bank, gen, n)
    if rendered is not None:
        rendered.update(r)
    b = r["blurred"]
    t = b.shape[1]
    steps = r["motion"].codec_step.repeat_interleave(t)
    coded = codec_proxy(b.flatten(0, 1), steps).unflatten(0, (n, t))
    static = r["motion"].static.reshape(n, 1, 1, 1, 1)
    return to_uint8(coded), to_uint8(torch.where(static, coded, r["sharp"]))


class OnlineBank:
    """`size` clips on the device; each sample re-renders `refresh` of them on average (one batched call;
    a fraction re-renders one clip every few samples, for CPUs, where synthesis is expensive)."""

    def __init__(self, photos: PhotoBank, spec: SynthSpec, size: int, refresh: float, seed: int, device):
        self.photos, self.spec, self.refresh = photos, spec, refresh
        self._due = 0.0
        self.device = torch.device(device)
        self.gen = torch.Generator(device=self.device).manual_seed(seed)
        self.host_gen = torch.Generator().manual_seed(seed)
        shape = (size, spec.frames, 3, spec.height, spec.width)
        self.blur = torch.empty(shape, dtype=torch.uint8, device=self.device)
        self.sharp = torch.empty_like(self.blur)
        self.next = 0
        for _ in range(0, size, 16):
            self._refresh(min(16, size - self.next))

    def _refresh(self, n: int) -> None:
        if n <= 0:
            return
        b, s = render_coded(self.spec, self.photos.patches, self.gen, n)
        idx = (torch.arange(n, device=self.device) + self.next) % self.blur.shape[0]
        self.blur[idx] = b
        self.sharp[idx] = s
        self.next = (self.next + n) % self.blur.shape[0]

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        self._due += self.refresh
        n = int(self._due)
        self._due -= n
        self._refresh(n)
        idx = torch.randint(self.blur.shape[0], (batch,), generator=self.gen, device=self.device)
        return augment(self.blur[idx], self.sharp[idx], self.host_gen)


class ClipFolder:
    """Pre-rendered clips held in memory (uint8, THWC); random crops in space and time."""

    def __init__(self, folder: Path, crop: int, seq: int, seed: int, device, clips: list[dict] | None = None):
        from .clips import load_clip_folder

        self.clips = clips if clips is not None else load_clip_folder(folder)
        if not self.clips:
            raise FileNotFoundError(f"no clips in {folder}")
        small = [c["name"] for c in self.clips if c["blurred"].shape[0] < seq or min(c["blurred"].shape[1:3]) < crop]
        if small:
            raise ValueError(f"clips shorter than {seq} frames or smaller than {crop} px: {', '.join(small[:5])}")
        self.crop, self.seq = crop, seq
        self.gen = torch.Generator().manual_seed(seed)
        self.device = torch.device(device)

    def _rand(self, hi: int) -> int:
        return int(torch.randint(hi, (), generator=self.gen))

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        bl, sh = [], []
        for _ in range(batch):
            clip = self.clips[self._rand(len(self.clips))]
            t, h, w = clip["blurred"].shape[:3]
            t0, y0, x0 = self._rand(t - self.seq + 1), self._rand(h - self.crop + 1), self._rand(w - self.crop + 1)
            sl = np.s_[t0:t0 + self.seq, y0:y0 + self.crop, x0:x0 + self.crop]
            bl.append(torch.from_numpy(np.ascontiguousarray(clip["blurred"][sl])))
            sh.append(torch.from_numpy(np.ascontiguousarray(clip["sharp"][sl])))
        b = torch.stack(bl).permute(0, 1, 4, 2, 3).to(self.device)
        s = torch.stack(sh).permute(0, 1, 4, 2, 3).to(self.device)
        return augment(b, s, self.gen)
