#!/usr/bin/env python3
"""Where a training iteration's time goes: rendering one synthetic clip vs one optimisation step.

  python benchmarks/train_throughput.py --photos .gpu/photos --preset small --batch 32
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.model.net import PRESETS, DeblurNet  # noqa: E402
from vdeblur.training.data import list_photos, split_photos  # noqa: E402
from vdeblur.training.synthesis import SynthConfig  # noqa: E402
from vdeblur.training.train import _load_photos, charbonnier, fft_l1, render_clip, run_sequence  # noqa: E402


def timed(fn, n: int, dev) -> float:
    fn()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--seq", type=int, default=8)
    ap.add_argument("-n", type=int, default=10)
    a = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    photos = _load_photos(split_photos(list_photos(a.photos))[0][:40], dev)
    cfg = SynthConfig(height=a.crop, width=a.crop, frames=a.seq)
    gen = torch.Generator().manual_seed(0)
    dgen = torch.Generator(device=dev).manual_seed(0)
    render_ms = timed(lambda: render_clip(cfg, gen, photos, 3.0, dgen), a.n, dev)
    net = DeblurNet(PRESETS[a.preset]).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    blur = torch.rand(a.batch, a.seq, 3, a.crop, a.crop, device=dev)
    sharp = torch.rand_like(blur)
    amp = torch.bfloat16 if dev.type == "cuda" else None

    def step():
        with torch.autocast(dev.type, dtype=amp, enabled=amp is not None):
            out = run_sequence(net, blur).float()
        loss = charbonnier(out, sharp) + 0.05 * fft_l1(out, sharp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step_ms = timed(step, a.n, dev)
    print(f"{dev}: render one {a.seq}-frame {a.crop}px clip {render_ms:.1f} ms; "
          f"{a.preset} step (batch {a.batch}) {step_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
