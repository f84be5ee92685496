#!/usr/bin/env python3
"""Train a vdeblur preset on synthetic motion-blurred clips.

Online synthesis from photos (best on a GPU):
  python tools/train.py --preset small --photos ../shared/datasets/photos --out runs/small
Pre-rendered clips (tools/synthesize.py) on the CPU:
  python tools/train.py --preset small --data clips/train --out runs/small-cpu --crop 128 --batch 8
Run it again with the same --out to resume from the last checkpoint (--resume says so explicitly).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.training.train import TrainConfig, train  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", required=True, choices=["small", "base", "tiny"])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--photos", type=Path, help="folder of photographs for online synthesis")
    src.add_argument("--data", type=Path, help="folder of pre-rendered clips from tools/synthesize.py")
    ap.add_argument("--out", type=Path, required=True, help="run folder: log, checkpoints last/ and best/")
    ap.add_argument("--init", help="start from these weights (preset name or .safetensors), fresh optimizer")
    ap.add_argument("--resume", action="store_true", help="resume from OUT/last (also automatic when present)")
    ap.add_argument("--iters", type=int, default=20000)
    ap.add_argument("--time-budget-s", type=float, help="cosine schedule over this much training time")
    ap.add_argument("--stop-after-s", type=float, help="checkpoint and stop this process after this long")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--seq", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--fft-weight", type=float, default=0.05)
    ap.add_argument("--blur-start", type=float, default=24.0)
    ap.add_argument("--bank", type=int, default=384)
    ap.add_argument("--refresh", type=int, default=4)
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--ckpt-every-s", type=float, default=180.0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-amp", action="store_true")
    a = ap.parse_args(argv)
    if a.resume and not (a.out / "last" / "state.json").exists():
        ap.error(f"--resume: no checkpoint at {a.out / 'last'}")
    tc = TrainConfig(preset=a.preset, out=a.out, photos=a.photos, data=a.data, init=a.init, iters=a.iters,
                     time_budget_s=a.time_budget_s, stop_after_s=a.stop_after_s, batch=a.batch, crop=a.crop,
                     seq=a.seq, lr=a.lr, warmup=a.warmup, fft_weight=a.fft_weight, blur_start=a.blur_start,
                     bank=a.bank, refresh=a.refresh, val_every=a.val_every, ckpt_every_s=a.ckpt_every_s,
                     device=a.device, seed=a.seed, amp=not a.no_amp,
                     command=" ".join(shlex.quote(x) for x in ["python", "tools/train.py", *(argv or sys.argv[1:])]))
    train(tc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
