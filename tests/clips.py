"""Synthetic clips written with PyAV, and readers to check what came out."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

try:
    import av
except ImportError:     # the GPU tests (-m gpu) run where there is no PyAV
    av = None


def make_clip(path: Path, *, frames: int = 12, width: int = 322, height: int = 182,
              pix_fmt: str = "yuv420p", audio: bool = True, vfr: bool = False,
              codec: str = "libx264", colour: dict | None = None, rate: int = 25) -> dict:
    """Write a moving-bar clip; returns what was written (pts, audio packet bytes)."""
    c = av.open(str(path), "w")
    v = c.add_stream(codec, rate=rate)
    v.width, v.height, v.pix_fmt = width, height, pix_fmt
    tb = Fraction(1, 1000) if vfr else Fraction(1, rate)
    v.codec_context.time_base = tb
    v.time_base = tb
    for k, val in (colour or {}).items():
        setattr(v.codec_context, k, val)
    a = None
    if audio:
        a = c.add_stream("aac", rate=48000)
        a.layout = "stereo"
    rng = np.random.default_rng(0)
    pts_list = []
    t = 0
    for i in range(frames):
        img = np.zeros((height, width, 3), np.uint8)
        img[..., 1] = (np.arange(width) * 255 // max(width - 1, 1)).astype(np.uint8)
        x = (i * 9) % max(width - 30, 1)
        img[:, x:x + 30, 0] = 255
        img[::7] = rng.integers(0, 255, (img[::7].shape), dtype=np.uint8)
        f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=pix_fmt)
        pts = t if vfr else i
        f.pts = pts
        f.time_base = tb
        pts_list.append(pts)
        t += 40 if i % 3 else 70   # irregular spacing for VFR
        for p in v.encode(f):
            c.mux(p)
    for p in v.encode():
        c.mux(p)
    if a is not None:
        n_audio = int(frames / rate * 48000 / 1024) + 2
        for i in range(n_audio):
            sig = np.sin(np.arange(1024) / 10 + i).astype(np.float32)[None].repeat(2, 0) * 0.1
            af = av.AudioFrame.from_ndarray(sig, format="fltp", layout="stereo")
            af.sample_rate = 48000
            af.pts = i * 1024
            for p in a.encode(af):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    c.close()
    return {"pts": pts_list}


def video_pts(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return sorted(f.pts for f in c.decode(s))


def seconds(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return sorted(float(f.pts * s.time_base) for f in c.decode(s))


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def make_photos(folder: Path, n: int, size: tuple[int, int] = (160, 120), name: str = "p{i}.png") -> Path:
    """n smooth random test photographs (never shipped data)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / name.format(i=i)), img)
    return folder


def step_windows(n: int, h: int = 72, w: int = 104, k: int = 3, seed: int = 0) -> list:
    """n random model-step windows (1, k, 3, h, w) float32 in [0, 1], the same on every call."""
    import torch

    g = torch.Generator().manual_seed(seed)
    return [torch.rand(1, k, 3, h, w, generator=g) for _ in range(n)]


def as_input(win, backend):
    """A torch window as the backend takes it: numpy on the CPU, a tensor on its GPU (backends/base.py)."""
    from vdeblur.ring import on_gpu

    return win.to(backend.device) if on_gpu(backend.device) else win.numpy()


def as_cpu(a):
    """A backend's array (numpy, or a torch tensor anywhere) as a new float32 CPU tensor."""
    import torch

    if isinstance(a, np.ndarray):
        return torch.from_numpy(np.array(a, dtype=np.float32))
    return a.detach().float().cpu().clone()


def run_backend(backend, wins: list, h: int, w: int) -> list:
    """Step a backend over the windows from a fresh state; the frames, copied to the CPU as float32."""
    state = backend.init_state(h, w)
    outs = []
    for win in wins:
        out, state = backend.step(as_input(win, backend), state)
        outs.append(as_cpu(out))
    return outs
