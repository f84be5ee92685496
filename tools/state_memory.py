#!/usr/bin/env python3
"""How many frames the recurrent state remembers: the warm-up `vdeblur batch` gives each chunk.

For each clip and each start frame a, the network runs from a with a fresh state and its outputs at a + j
are compared with those of the run that started at frame 0 (PSNR, 8-bit). The state memory is the least j
from which every clip and start stays at or above --db. --record writes it into the weights' card as
`state_memory_frames` (vdeblur batch's default warm-up).

  python tools/synthesize.py photos ../shared/datasets/photos --split val --clips 3 --frames 96 --seed 21 -o clips/long
  python tools/state_memory.py clips/long --model small --record
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.backends.torch_backend import TorchBackend  # noqa: E402
from vdeblur.colour import frame_to_rgb  # noqa: E402
from vdeblur.deblurrer import Deblurrer  # noqa: E402
from vdeblur.model.loading import load_model, update_info, weights_path  # noqa: E402


def decode(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [frame_to_rgb(f) for f in c.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float32) - b.astype(np.float32)) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-10))


def run(net, frames: list[np.ndarray]) -> list[np.ndarray]:
    d = Deblurrer(TorchBackend(net, torch.device("cpu")))
    return [d.process(f) for f in frames]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", type=Path, help="a folder of clip folders (blurred.mp4 in each) or of videos")
    ap.add_argument("--model", default="small")
    ap.add_argument("--starts", type=int, nargs="+", default=[24, 48])
    ap.add_argument("--horizon", type=int, default=40, help="frames followed after each start")
    ap.add_argument("--db", type=float, default=45.0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--record", action="store_true", help="write state_memory_frames into the weights' card")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    net, _ = load_model(a.model)
    videos = sorted(a.clips.glob("*/blurred.mp4")) or sorted(a.clips.glob("*.mp4"))
    curves = []
    for v in videos:
        frames = decode(v)
        ref = run(net, frames)
        for s in a.starts:
            if s + 2 > len(frames):
                continue
            outs = run(net, frames[s:s + a.horizon])
            curves.append([psnr(o, r) for o, r in zip(outs, ref[s:])])
            print(f"{v.parent.name if v.name == 'blurred.mp4' else v.name} from {s}: "
                  + " ".join(f"{x:.0f}" for x in curves[-1][:24]))
    horizon = min(len(c) for c in curves)
    worst = [min(c[j] for c in curves) for j in range(horizon)]
    memory = next((j for j in range(horizon) if all(w >= a.db for w in worst[j:])), None)
    if memory is None:
        print(f"the outputs never settle at {a.db} dB within {horizon} frames; follow longer (--horizon)")
        return 1
    print(f"state memory of {a.model}: {memory} frames (worst PSNR from there {min(worst[memory:]):.1f} dB; "
          f"worst at 0, 4, 8, 16: {', '.join(f'{worst[j]:.1f}' for j in (0, 4, 8, 16) if j < horizon)} dB)")
    result = {"model": a.model, "db": a.db, "state_memory_frames": memory, "worst_psnr_by_offset": worst,
              "clips": [str(v) for v in videos], "starts": a.starts}
    if a.json:
        a.json.write_text(json.dumps(result, indent=1) + "\n")
    if a.record:
        update_info(weights_path(a.model), state_memory_frames=memory)
        print(f"recorded in {weights_path(a.model)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
