#!/usr/bin/env python3
"""Render GoPro-style motion-blurred clips to disk (DESIGN.md: training data), encoded with real H.264.

From photographs (camera shake + moving objects, sub-frames averaged in linear light, sensor noise before
the tone curve, saturating highlights, an exposure duty cycle, H.264 at a random CRF), with a blur profile
(vdeblur/training/synthesis.py: train, heavy, mild, sharp):
  python tools/synthesize.py photos ../shared/datasets/photos --split train --clips 200 -o clips/train
  python tools/synthesize.py photos ../shared/datasets/photos --split val --profile heavy --clips 8 --seed 7 -o clips/val/heavy
From a high-frame-rate video (average N consecutive frames, the middle one is the target):
  python tools/synthesize.py hfr my_240fps.mp4 --average 9 -o clips/mine
Each clip is a folder: blurred.mp4, sharp.mkv (lossless), meta.json (with the true blur per frame).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.training.clips import read_video, save_clip  # noqa: E402
from vdeblur.training.data import list_photos, read_rgb, split_photos  # noqa: E402
from vdeblur.training.synthesis import (PROFILES, PhotoBank, SynthSpec, linear_to_srgb, render,  # noqa: E402
                                        srgb_to_linear)


def to_u8(x: torch.Tensor) -> np.ndarray:
    """(T, 3, H, W) float [0, 1] -> (T, H, W, 3) uint8."""
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def from_photos(a) -> None:
    train, val = split_photos(list_photos(a.source))
    photos = {"train": train, "val": val, "all": train + val}[a.split]
    spec = SynthSpec(height=a.height, width=a.width, frames=a.frames, profile=PROFILES[a.profile])
    # Patches a little larger than the frame, cut from the full-resolution photos (one per photo).
    ph, pw = (int(s * 1.15) // 16 * 16 for s in (a.height, a.width))
    bank = PhotoBank([read_rgb(p) for p in photos], ph, pw, "cpu", per_photo=1, seed=a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    for i in range(a.clips):
        r = render(spec, bank.patches, gen, 1)
        static = bool(r["motion"].static[0])
        crf = int(torch.randint(a.crf[0], a.crf[1] + 1, (), generator=gen))
        photo = photos[int(r["pick"][0])].name
        blur = [round(float(x), 2) for x in r["blur_px"][0]]
        meta = {"photo": photo, "profile": a.profile, "static": static, "duty": round(float(r["motion"].duty[0]), 3),
                "subframes": r["subframes"], "blur_px": blur, "max_blur": max(blur), "seed": a.seed, "index": i}
        b8 = to_u8(r["blurred"][0])
        save_clip(a.out / f"{a.prefix}{i:04d}", b8, b8 if static else to_u8(r["sharp"][0]), crf, meta)
        print(f"clip {i + 1}/{a.clips}: {photo} blur {np.mean(blur):.1f} px (max {max(blur):.1f}) crf {crf}"
              f"{' static' if static else ''}", flush=True)


def from_hfr(a) -> None:
    frames = read_video(a.source)
    n = a.average
    if n % 2 == 0 or n < 3:
        raise SystemExit("--average must be odd and at least 3")
    lin = srgb_to_linear(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
    groups = len(frames) // n
    if groups < 2:
        raise SystemExit(f"{a.source}: {len(frames)} frames are too few to average {n} at a time")
    blurred = torch.stack([linear_to_srgb(lin[g * n:(g + 1) * n].mean(0)) for g in range(groups)])
    sharp = torch.from_numpy(frames[n // 2::n][:groups]).permute(0, 3, 1, 2).float() / 255
    gen = torch.Generator().manual_seed(a.seed)
    crf = int(torch.randint(a.crf[0], a.crf[1] + 1, (), generator=gen))
    per = a.frames
    for c in range(0, groups - per + 1, per):
        save_clip(a.out / f"clip{c // per:04d}", to_u8(blurred[c:c + per]), to_u8(sharp[c:c + per]), crf,
                  {"source": str(a.source), "average": n, "max_blur": float("nan")})
    print(f"{groups} blurred frames from {len(frames)} in {a.out}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("photos", help="clips from a folder of photographs")
    p.add_argument("source", type=Path)
    p.add_argument("--split", choices=["train", "val", "all"], default="train",
                   help="which side of the by-photo validation split to draw from")
    p.add_argument("--clips", type=int, default=100)
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--profile", choices=sorted(PROFILES), default="train",
                   help="blur distribution: train (what training sees), heavy, mild, sharp (static)")
    p.add_argument("--crf", type=int, nargs=2, default=(16, 23), metavar=("MIN", "MAX"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prefix", default="clip", help="clip folder names: PREFIX0000... (several sets in one folder)")
    p.add_argument("-o", "--out", type=Path, required=True)
    h = sub.add_parser("hfr", help="clips from a high-frame-rate video")
    h.add_argument("source", type=Path)
    h.add_argument("--average", type=int, default=9, help="frames averaged per blurred frame (odd)")
    h.add_argument("--frames", type=int, default=24, help="frames per clip")
    h.add_argument("--crf", type=int, nargs=2, default=(16, 23), metavar=("MIN", "MAX"))
    h.add_argument("--seed", type=int, default=0)
    h.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    (from_photos if a.mode == "photos" else from_hfr)(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
