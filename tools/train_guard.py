#!/usr/bin/env python3
"""Train a Guard (vdeblur/model/guard.py) for frozen shipped weights on CPU, and write the guarded network:

  python tools/train_guard.py --model small --data clips/ns_v2 --minutes 20 -o runs/guard/small-guard.safetensors

Loss: per-frame PSNR loss (log MSE), so that nearly sharp clips weigh as much as blurred ones, which is what
the family table measures. The deblurring network never changes; the guard can only take its corrections
back. Judge the result with `tools/families.py eval` and `rule` before shipping anything.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.model.guard import GuardedConfig, GuardedNet  # noqa: E402
from vdeblur.model.loading import load_model, save_weights  # noqa: E402
from vdeblur.training.sources import ClipFolder  # noqa: E402
from vdeblur.training.validate import run_sequence  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="small")
    ap.add_argument("--data", type=Path, required=True, help="training clip folders (tools/synthesize.py, families render)")
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--seq", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net, info = load_model(a.model)
    guarded = GuardedNet(GuardedConfig(net.config, a.channels))
    guarded.net.load_state_dict(net.state_dict())
    guarded.net.requires_grad_(False).eval()
    guard = guarded.guard.train()
    opt = torch.optim.Adam(guard.parameters(), lr=a.lr)
    data = ClipFolder(a.data, a.crop, a.seq, a.seed, "cpu")
    print(f"{len(data.clips)} clips; training the guard for {a.minutes:g} min", flush=True)
    t0, step, log = time.time(), 0, []
    while time.time() - t0 < a.minutes * 60:
        blur_u8, sharp_u8 = data.sample(a.batch)
        blur, sharp = blur_u8.float() / 255, sharp_u8.float() / 255
        with torch.no_grad():
            outs = run_sequence(guarded.net, blur)
        b, t = blur.shape[:2]
        final = guard(blur.flatten(0, 1), outs.flatten(0, 1)).clamp(0, 1)
        mse = ((final - sharp.flatten(0, 1)) ** 2).mean(dim=(1, 2, 3)) + 1e-6
        mse_in = ((blur - sharp) ** 2).flatten(0, 1).mean(dim=(1, 2, 3)) + 1e-6
        loss = torch.log10(mse / mse_in).mean() * 10       # dB lost against the input (negative: gained)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        log.append(loss.item())
        if step % 100 == 0:
            print(f"step {step} dB vs input {-sum(log[-100:]) / 100:+.3f} ({time.time() - t0:.0f} s)", flush=True)
    guarded.eval()
    info = {**info, "guard": {"steps": step, "seconds": round(time.time() - t0, 1), "data": str(a.data),
                              "cpu_threads": a.threads, "lr": a.lr, "batch": a.batch, "crop": a.crop, "seq": a.seq}}
    info.pop("path", None)
    save_weights(guarded, a.output, info, arch="deblurnet+guard")
    a.output.with_suffix(".json").write_text(json.dumps(info["guard"], indent=1) + "\n")
    print(f"wrote {a.output} after {step} steps", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
