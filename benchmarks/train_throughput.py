#!/usr/bin/env python3
"""Training throughput: iterations/s, megapixels/s and where a step's time goes.

  python benchmarks/train_throughput.py --photos ../shared/datasets/photos --preset small base \
      --batch 8 --crop 128 --variants fp32 bf16 --json benchmarks/results/train_throughput_cpu.json

Per preset and variant, two measurements of the real training step (vdeblur.training.train.Run) on batches
from the real source (OnlineBank: synthesis on the training device):
- the loop as it trains (no synchronisation inside): iterations/s and Mpx/s (batch x seq x crop^2 per step);
- the same step with the device synchronised between phases, to attribute time to synthesis (the bank
  refresh), forward (+ loss), backward and optimizer (clip, AdamW, EMA). Synchronising costs a little, so
  the shares come from this second run and the rates from the first.
Variants: fp32 (no autocast, eager), bf16 (autocast), compiled (bf16 + torch.compile).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.backends.probe import cpu_model  # noqa: E402
from vdeblur.training.sources import OnlineBank  # noqa: E402
from vdeblur.training.synthesis import PROFILES, SynthSpec  # noqa: E402
from vdeblur.training.train import Run, TrainConfig, _load_photos  # noqa: E402

VARIANTS = {"fp32": {"amp": "off", "compile": "off"}, "bf16": {"amp": "on", "compile": "off"},
            "compiled": {"amp": "on", "compile": "on"}}


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def measure(tc: TrainConfig, photos: Path, steps: int, warmup: int) -> dict:
    run = Run(tc)
    dev = run.device
    bank, _ = _load_photos(photos, tc, dev)
    spec = SynthSpec(height=tc.crop, width=tc.crop, frames=tc.seq, profile=PROFILES["train"],
                     subframes=tc.subframes or (24 if dev.type == "cuda" else 0))
    source = OnlineBank(bank, spec, tc.bank, tc.refresh, 0, dev)
    for _ in range(warmup):
        run.train_step(*source.sample(tc.batch))
    sync(dev)
    t = time.perf_counter()
    for _ in range(steps):
        loss = run.train_step(*source.sample(tc.batch))
    loss.item()
    sync(dev)
    step_s = (time.perf_counter() - t) / steps
    phases = {"synthesis": 0.0, "forward": 0.0, "backward": 0.0, "optimizer": 0.0}
    for _ in range(steps):
        t0 = time.perf_counter()
        source._refresh(max(1, round(tc.refresh)))
        idx = torch.randint(source.blur.shape[0], (tc.batch,), device=dev)
        blur, sharp = source.blur[idx], source.sharp[idx]
        sync(dev)
        t1 = time.perf_counter()
        loss = run.forward_loss(blur, sharp)
        sync(dev)
        t2 = time.perf_counter()
        run.backward(loss)
        sync(dev)
        t3 = time.perf_counter()
        run.update()
        sync(dev)
        t4 = time.perf_counter()
        for k, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            phases[k] += dt / steps
    total = sum(phases.values())
    px = tc.batch * tc.seq * tc.crop * tc.crop
    return {"iters_per_s": 1 / step_s, "ms_per_step": step_s * 1e3, "mpx_per_s": px / step_s / 1e6,
            "phase_ms": {k: v * 1e3 for k, v in phases.items()},
            "phase_share": {k: v / total for k, v in phases.items()}, "amp": str(run.amp),
            "compiled": run.step_fn is not run.net}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--preset", nargs="+", default=["small", "base"])
    ap.add_argument("--variants", nargs="+", default=["fp32", "bf16"], choices=sorted(VARIANTS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--seq", type=int, default=8)
    ap.add_argument("--refresh", type=float, default=1)
    ap.add_argument("--bank", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in a.preset:
            for variant in a.variants:
                tc = TrainConfig(preset=preset, state=Path(tmp) / f"{preset}-{variant}", out=Path(tmp), batch=a.batch,
                                 crop=a.crop, seq=a.seq, refresh=a.refresh, bank=a.bank, device=a.device,
                                 bank_photos=1, **VARIANTS[variant])
                r = {"preset": preset, "variant": variant, **measure(tc, a.photos, a.steps, a.warmup)}
                rows.append(r)
                sh = " ".join(f"{k} {v:.0%}" for k, v in r["phase_share"].items())
                print(f"{preset:5s} {variant:8s} {r['iters_per_s']:7.2f} it/s {r['mpx_per_s']:8.2f} Mpx/s "
                      f"({r['ms_per_step']:.0f} ms/step; {sh})", flush=True)
    dev = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if a.device == "auto" else a.device))
    result = {"device": torch.cuda.get_device_name() if dev.type == "cuda" else platform.processor() or "cpu",
              "cpu": cpu_model(), "threads": torch.get_num_threads(), "torch": torch.__version__,
              "batch": a.batch, "crop": a.crop, "seq": a.seq, "refresh": a.refresh, "rows": rows}
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
