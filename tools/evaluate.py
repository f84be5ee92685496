#!/usr/bin/env python3
"""Evaluate deblurring on clip folders (tools/synthesize.py layout) against their ground truth.

  python tools/evaluate.py clips/val --model small --sharp-clips clips/sharp --json eval/small.json \
      --table eval/small.md --png eval/small.png

Per clip, PSNR (dB) and SSIM of: the blurred input, the network (recurrent), the same network with its
state reset every frame, and two classical baselines (unsharp mask; Wiener deconvolution with a motion
kernel estimated from the video, vdeblur/training/baselines.py); plus a flicker measure (mean absolute error of
temporal differences, output vs ground truth, 8-bit units). With --sharp-clips, the PSNR between input
and output on already-sharp clips (the network should leave them alone). The PNG shows the middle frame
of each clip, cropped: blurred | Wiener | network | ground truth.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skimage.metrics import structural_similarity  # noqa: E402

from vdeblur.backends.torch_backend import TorchBackend  # noqa: E402
from vdeblur.deblurrer import Deblurrer  # noqa: E402
from vdeblur.model.loading import load_model  # noqa: E402
from vdeblur.training.baselines import unsharp, wiener_clip  # noqa: E402
from vdeblur.training.clips import load_clip_folder  # noqa: E402


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def flicker(out: np.ndarray, gt: np.ndarray) -> float:
    do = np.diff(out.astype(np.float32), axis=0)
    dg = np.diff(gt.astype(np.float32), axis=0)
    return float(np.mean(np.abs(do - dg)))


def run_model(d: Deblurrer, frames: np.ndarray, reset_every_frame: bool) -> np.ndarray:
    d.reset()
    outs = []
    for f in frames:
        if reset_every_frame:
            d.reset()
        outs.append(d.process(f))
    return np.stack(outs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", type=Path)
    ap.add_argument("--model", default="small")
    ap.add_argument("--sharp-clips", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--table", type=Path)
    ap.add_argument("--png", type=Path)
    a = ap.parse_args(argv)
    net, info = load_model(a.model)
    d = Deblurrer(TorchBackend(net, torch.device("cpu")))
    rows = []
    examples = []
    for clip in load_clip_folder(a.clips):
        b, g = clip["blurred"], clip["sharp"]
        out = run_model(d, b, False)
        reset = run_model(d, b, True)
        um = np.stack([unsharp(f) for f in b])
        wn = wiener_clip(b)
        row = {"clip": clip["name"], "crf": clip.get("crf"), "exposure": clip.get("exposure")}
        for key, frames in (("input", b), ("output", out), ("reset", reset), ("unsharp", um), ("wiener", wn)):
            row[f"{key}_psnr"] = float(np.mean([psnr(x, y) for x, y in zip(frames, g)]))
            row[f"{key}_ssim"] = float(np.mean([ssim(x, y) for x, y in zip(frames, g)]))
        row["flicker_input"] = flicker(b, g)
        row["flicker_output"] = flicker(out, g)
        rows.append(row)
        t = len(b) // 2
        h, w = b.shape[1:3]
        ch, cw = min(160, h), min(240, w)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        examples.append(np.concatenate([f[t, y0:y0 + ch, x0:x0 + cw] for f in (b, wn, out, g)], axis=1))
        print(f"{clip['name']}: input {row['input_psnr']:.2f} dB -> output {row['output_psnr']:.2f} dB "
              f"(reset {row['reset_psnr']:.2f}, unsharp {row['unsharp_psnr']:.2f}, "
              f"wiener {row['wiener_psnr']:.2f}); "
              f"SSIM {row['input_ssim']:.3f} -> {row['output_ssim']:.3f}", flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k.endswith(("psnr", "ssim")) or
            k.startswith("flicker")}
    summary = {"model": info.get("preset", a.model), "clips": len(rows), "mean": mean,
               "gain_db": mean["output_psnr"] - mean["input_psnr"],
               "recurrence_gain_db": mean["output_psnr"] - mean["reset_psnr"],
               "ssim_up_on_every_clip": all(r["output_ssim"] > r["input_ssim"] for r in rows), "per_clip": rows}
    if a.sharp_clips:
        sharp_rows = []
        for clip in load_clip_folder(a.sharp_clips):
            out = run_model(d, clip["blurred"], False)
            sharp_rows.append(float(np.mean([psnr(x, y) for x, y in zip(out, clip["blurred"])])))
        summary["sharp_clips_output_vs_input_psnr"] = sharp_rows
    lines = ["| clip | input PSNR | output PSNR | reset-every-frame PSNR | unsharp PSNR | Wiener PSNR | input SSIM "
             "| output SSIM | Wiener SSIM | flicker in | flicker out |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows + [{"clip": "**mean**", **mean}]:
        lines.append(f"| {r['clip']} | {r['input_psnr']:.2f} | {r['output_psnr']:.2f} | {r['reset_psnr']:.2f} | "
                     f"{r['unsharp_psnr']:.2f} | {r['wiener_psnr']:.2f} | {r['input_ssim']:.4f} | "
                     f"{r['output_ssim']:.4f} | {r['wiener_ssim']:.4f} | "
                     f"{r['flicker_input']:.2f} | {r['flicker_output']:.2f} |")
    table = "\n".join(lines)
    print(table)
    print(f"gain {summary['gain_db']:+.2f} dB, recurrence {summary['recurrence_gain_db']:+.2f} dB, "
          f"SSIM up on every clip: {summary['ssim_up_on_every_clip']}")
    if "sharp_clips_output_vs_input_psnr" in summary:
        print("sharp clips, output vs input PSNR:", [round(x, 2) for x in summary["sharp_clips_output_vs_input_psnr"]])
    for path, text in ((a.json, json.dumps(summary, indent=2)), (a.table, table)):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
    if a.png:
        a.png.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(a.png), cv2.cvtColor(np.concatenate(examples[:6], axis=0), cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
