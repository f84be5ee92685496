#!/usr/bin/env python3
"""Big frames: the peak memory of `vdeblur run` on 8K, and tiled against untiled output.

  python benchmarks/big_frames.py --rss-size 7680x4320 --rss-frames 30 \
      --parity-size 1920x1080 --tile 256 --parity-frames 24 --json benchmarks/results/big_frames_cpu.json

Memory: `vdeblur run` with its defaults (so --max-memory 3072 decides the tiling) in its own process on a
synthetic clip; os.wait4 gives that child's peak RSS. Parity: the example clip upscaled to the parity size,
deblurred whole and in tiles by the same backend with the state carried over every frame; PSNR per frame
and over the clip.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vdeblur.backends import open_backend  # noqa: E402
from vdeblur.backends.probe import cpu_model  # noqa: E402
from vdeblur.bench import synthetic_clip  # noqa: E402
from vdeblur.config import ModelConfig, Precision  # noqa: E402
from vdeblur.deblurrer import Deblurrer  # noqa: E402
from vdeblur.training.clips import read_video  # noqa: E402


def psnr(a, b) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def peak_rss(size: str, frames: int, extra: list[str]) -> dict:
    w, h = map(int, size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        inp, out, js = Path(tmp) / "in.mp4", Path(tmp) / "out.mp4", Path(tmp) / "s.json"
        synthetic_clip(inp, frames, w, h)
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "vdeblur.cli", "run", str(inp), "-o", str(out), "-y", "--quiet",
                              "--json", str(js), *extra])
        _, status, usage = os.wait4(p.pid, 0)
        if status != 0:
            raise SystemExit(f"vdeblur run failed on {size} (status {status})")
        s = json.loads(js.read_text())
    return {"size": size, "frames": frames, "args": extra, "peak_rss_mb": usage.ru_maxrss / 1024,
            "wall_s": time.perf_counter() - t0, "tiles": s["tiles"], "backend": s["backend"],
            "precision": s["precision"], "frames_out": s["frames_out"], "fps": s["fps"]}


def parity(size: str, tile: int, frames: int, backend: str, precision: str) -> dict:
    w, h = map(int, size.split("x"))
    clip = [cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in read_video(ROOT / "examples" / "blurred.mp4")]
    clip = (clip * (frames // len(clip) + 1))[:frames]
    cfg = ModelConfig(backend=backend, precision=Precision(precision))
    runs = {}
    for name, t in (("whole", None), ("tiled", tile)):
        d = Deblurrer(open_backend(cfg), scene_cut=False, tile=t)
        t0 = time.perf_counter()
        runs[name] = [d.process(np.ascontiguousarray(f)) for f in clip]
        runs[name + "_s"] = time.perf_counter() - t0
        if t is not None:
            tiles, window = len(d.grid.tiles), d.grid.window_size
        backend_name, prec = d.backend.name, d.backend.precision.value
        d.close()
    per_frame = [psnr(a, b) for a, b in zip(runs["whole"], runs["tiled"])]
    return {"size": size, "tile": tile, "tiles": tiles, "tile_window": list(window), "frames": frames,
            "backend": backend_name, "precision": prec, "clip_psnr_db": psnr(runs["whole"], runs["tiled"]),
            "worst_frame_psnr_db": min(per_frame), "per_frame_psnr_db": per_frame,
            "whole_s": runs["whole_s"], "tiled_s": runs["tiled_s"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rss-size", default="7680x4320")
    ap.add_argument("--rss-frames", type=int, default=30)
    ap.add_argument("--run-arg", action="append", default=[], help="extra argument for `vdeblur run` (repeatable)")
    ap.add_argument("--parity-size", default="1920x1080")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--parity-frames", type=int, default=24)
    ap.add_argument("--backend", default="onnxruntime")
    ap.add_argument("--precision", default="int8")
    ap.add_argument("--skip", choices=["rss", "parity"], action="append", default=[])
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    report: dict = {"cpu": cpu_model(), "cores": os.cpu_count()}
    if "parity" not in a.skip:
        report["parity"] = p = parity(a.parity_size, a.tile, a.parity_frames, a.backend, a.precision)
        print(f"{p['size']} --tile {p['tile']} ({p['tiles']} tiles of {p['tile_window'][1]}x{p['tile_window'][0]}), "
              f"{p['backend']} {p['precision']}: tiled vs whole {p['clip_psnr_db']:.2f} dB over {p['frames']} frames "
              f"(worst frame {p['worst_frame_psnr_db']:.2f}); {p['whole_s']:.1f} s whole, {p['tiled_s']:.1f} s tiled",
              flush=True)
    if "rss" not in a.skip:
        report["rss"] = r = peak_rss(a.rss_size, a.rss_frames, a.run_arg)
        print(f"{r['size']} x {r['frames']} frames: peak RSS {r['peak_rss_mb']:.0f} MB, {r['tiles']} tiles, "
              f"{r['backend']} {r['precision']}, {r['frames_out']} frames out, {r['wall_s']:.0f} s", flush=True)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
