#!/usr/bin/env python3
"""Evaluate deblurring on validation sets (tools/synthesize.py clip folders) against their ground truth.

  python tools/evaluate.py clips/val/heavy clips/val/mild clips/val/sharp --model small \
      --json benchmarks/eval/small.json --table benchmarks/eval/small.md --png benchmarks/eval/small.png

Each positional folder is one set (named after the folder). Per clip: PSNR (dB) and SSIM of the blurred
input, the network (recurrent), the same network with its state reset every frame, and two classical
baselines (unsharp mask; Wiener deconvolution with a motion kernel estimated from the video); flicker
(mean absolute error of temporal differences against the ground truth's, 8-bit units); sharpness (mean
gradient magnitude, no reference, next to the ground truth's) and GMSD (a perceptual proxy). Static clips
(target = input) report the output's PSNR against the input. Per set, the checks of the quality issue:
no clip below its input - 0.05 dB, SSIM up on every blurred clip, flicker not above the input's, static
clips >= 45 dB. The PNG shows the middle frame of a few clips: blurred | Wiener | network | ground truth.
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
from vdeblur.evaluation.baselines import unsharp, wiener_clip  # noqa: E402
from vdeblur.model.loading import load_model  # noqa: E402
from vdeblur.training.clips import load_clip_folder  # noqa: E402

WORSE_DB = 0.05      # a clip counts as made worse below its input - this
SHARP_DB = 45.0      # static clips: output vs input at least this


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


def _grad(rgb: np.ndarray) -> np.ndarray:
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3))


def sharpness(frames: np.ndarray) -> float:
    """No-reference sharpness: mean gradient magnitude of the luma (Sobel, 8-bit units); compared with the
    ground truth's, it says whether the output is as crisp as the truth (not crisper: ringing also counts)."""
    return float(np.mean([_grad(f).mean() for f in frames]))


def gmsd(a: np.ndarray, b: np.ndarray) -> float:
    """Gradient magnitude similarity deviation (Xue et al. 2014), a perceptual proxy that needs no downloaded
    network: the spread of the per-pixel gradient similarity; 0 = identical structure, higher = worse."""
    c = 170.0           # for 8-bit luma, as in the paper
    ga, gb = _grad(a), _grad(b)
    sim = (2 * ga * gb + c) / (ga ** 2 + gb ** 2 + c)
    return float(sim.std())


def mean_over(frames: np.ndarray, truth: np.ndarray, fn) -> float:
    return float(np.mean([fn(x, y) for x, y in zip(frames, truth)]))


def evaluate_clip(d: Deblurrer, clip: dict, baselines: bool) -> tuple[dict, np.ndarray]:
    """One clip's row and its example crop."""
    b, g = clip["blurred"], clip["sharp"]
    out = run_model(d, b, False)
    row = {"clip": clip["name"], "crf": clip.get("crf"), "static": bool(clip.get("static", False)),
           "blur_px": float(np.mean(clip["blur_px"])) if "blur_px" in clip else None}
    variants = {"input": b, "output": out}
    if not row["static"]:
        variants["reset"] = run_model(d, b, True)
        if baselines:
            variants["unsharp"] = np.stack([unsharp(f) for f in b])
            variants["wiener"] = wiener_clip(b)
    for key, frames in variants.items():
        row[f"{key}_psnr"] = min(mean_over(frames, g, psnr), 100.0)
        row[f"{key}_ssim"] = mean_over(frames, g, ssim)
        row[f"{key}_gmsd"] = mean_over(frames, g, gmsd)
        row[f"{key}_sharpness"] = sharpness(frames)
    row["truth_sharpness"] = sharpness(g)
    row["gain_db"] = row["output_psnr"] - row["input_psnr"]
    if row["static"]:
        # Sharp video must come back as it went in: compare with the decoded input itself.
        row["output_vs_input_psnr"] = min(mean_over(out, b, psnr), 100.0)
    row["flicker_input"] = flicker(b, g)
    row["flicker_output"] = flicker(out, g)
    t = len(b) // 2
    h, w = b.shape[1:3]
    ch, cw = min(160, h), min(240, w)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    panels = [b, variants.get("wiener", b), out, g]
    return row, np.concatenate([f[t, y0:y0 + ch, x0:x0 + cw] for f in panels], axis=1)


def summarise(rows: list[dict]) -> dict:
    blurred = [r for r in rows if not r["static"]]
    static = [r for r in rows if r["static"]]
    s: dict = {"clips": len(rows)}
    if blurred:
        keys = [k for k in blurred[0] if k.endswith(("_psnr", "_ssim", "_gmsd", "_sharpness")) or k.startswith("flicker")]
        s["mean"] = {k: float(np.mean([r[k] for r in blurred])) for k in keys}
        s["gain_db"] = s["mean"]["output_psnr"] - s["mean"]["input_psnr"]
        s["worst_gain_db"] = min(r["gain_db"] for r in blurred)
        s["clips_worse"] = sum(r["gain_db"] < -WORSE_DB for r in blurred)
        s["recurrence_gain_db"] = s["mean"]["output_psnr"] - s["mean"]["reset_psnr"]
        s["ssim_up_on_every_clip"] = all(r["output_ssim"] > r["input_ssim"] for r in blurred)
        s["flicker_not_above_input"] = s["mean"]["flicker_output"] <= s["mean"]["flicker_input"]
        # How far from the truth's crispness (0 = as sharp as the truth), and the input's for reference.
        s["sharpness_gap_output"] = s["mean"]["output_sharpness"] / s["mean"]["truth_sharpness"] - 1
        s["sharpness_gap_input"] = s["mean"]["input_sharpness"] / s["mean"]["truth_sharpness"] - 1
    if static:
        s["static_output_vs_input_psnr"] = [r["output_vs_input_psnr"] for r in static]
        s["static_below_45db"] = sum(r["output_vs_input_psnr"] < SHARP_DB for r in static)
    return s


def table(rows: list[dict]) -> str:
    lines = ["| clip | blur px | input PSNR | output PSNR | gain | reset-every-frame | unsharp | Wiener | SSIM in | "
             "SSIM out | flicker in | flicker out |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda r, k, fmt=".2f": format(r[k], fmt) if r.get(k) is not None else "—"
    for r in rows:
        lines.append(f"| {r['clip']} | {f(r, 'blur_px', '.1f')} | {f(r, 'input_psnr')} | {f(r, 'output_psnr')} | "
                     f"{r['gain_db']:+.2f} | {f(r, 'reset_psnr')} | {f(r, 'unsharp_psnr')} | {f(r, 'wiener_psnr')} | "
                     f"{f(r, 'input_ssim', '.4f')} | {f(r, 'output_ssim', '.4f')} | {f(r, 'flicker_input')} | "
                     f"{f(r, 'flicker_output')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", type=Path, nargs="+", help="clip folders, one per validation set")
    ap.add_argument("--model", default="small")
    ap.add_argument("--no-baselines", action="store_true", help="skip unsharp mask and Wiener (faster)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--table", type=Path)
    ap.add_argument("--png", type=Path)
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    net, info = load_model(a.model)
    d = Deblurrer(TorchBackend(net, torch.device("cpu")))
    summary: dict = {"model": info.get("preset", a.model), "weights": info.get("path"), "sets": {}}
    tables, examples = [], []
    for folder in a.sets:
        rows = []
        for clip in load_clip_folder(folder):
            row, example = evaluate_clip(d, clip, not a.no_baselines)
            rows.append(row)
            if not row["static"] and len(examples) < 6 and len(rows) <= 3:
                examples.append(example)
            extra = f"; output vs input {row['output_vs_input_psnr']:.2f} dB" if row["static"] else ""
            print(f"{folder.name}/{row['clip']}: input {row['input_psnr']:.2f} dB -> output {row['output_psnr']:.2f} "
                  f"dB ({row['gain_db']:+.2f}); SSIM {row['input_ssim']:.3f} -> {row['output_ssim']:.3f}{extra}",
                  flush=True)
        s = summarise(rows)
        summary["sets"][folder.name] = {**s, "folder": str(folder), "per_clip": rows}
        tables.append(f"### {folder.name}\n\n{table(rows)}\n")
        brief = {k: v for k, v in s.items() if k not in ("mean",)}
        print(f"{folder.name}: {json.dumps(brief)}", flush=True)
    text = "\n".join(tables)
    for path, content in ((a.json, json.dumps(summary, indent=1)), (a.table, text)):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content + "\n")
    if a.png and examples:
        a.png.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(a.png), cv2.cvtColor(np.concatenate(examples, axis=0), cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
