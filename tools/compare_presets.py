#!/usr/bin/env python3
"""Compare a perceptual preset with the PSNR one on the validation sets, and decide whether it ships.

  python tools/compare_presets.py clips/val/heavy clips/val/mild clips/val/sharp --base small \
      --candidate runs/sharp/final.safetensors --json benchmarks/eval/sharp_vs_small.json \
      --png benchmarks/eval/sharp_vs_small.png

Per set (tools/evaluate.py's metrics, state carried, torch on the CPU): PSNR, SSIM, GMSD, sharpness next to
the ground truth's, flicker. Accepted (the issue's rule) when, over the blurred sets, the candidate's
sharpness is closer to the truth's than the base's, its PSNR is above the input's on every clip, and its
flicker is not above the base's. The PNG: for a few clips, the middle frame's centre crop as
input | base | candidate | truth.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from evaluate import evaluate_clip, run_model, summarise  # noqa: E402

from vdeblur.backends.torch_backend import TorchBackend  # noqa: E402
from vdeblur.deblurrer import Deblurrer  # noqa: E402
from vdeblur.model.loading import load_model  # noqa: E402
from vdeblur.training.clips import load_clip_folder  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", type=Path, nargs="+")
    ap.add_argument("--base", default="small")
    ap.add_argument("--candidate", required=True)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--png", type=Path)
    a = ap.parse_args(argv)
    runs = {}
    for role, spec in (("base", a.base), ("candidate", a.candidate)):
        net, _ = load_model(spec)
        runs[role] = Deblurrer(TorchBackend(net, torch.device("cpu")), scene_cut=False)
    report: dict = {"base": a.base, "candidate": a.candidate, "sets": {}}
    crops = []
    every_clip_above_input = True
    blurred_means = {"base": [], "candidate": []}
    for folder in a.sets:
        rows = {"base": [], "candidate": []}
        for clip in load_clip_folder(folder):
            for role, d in runs.items():
                row, _ = evaluate_clip(d, clip, baselines=False)
                rows[role].append(row)
            cand = rows["candidate"][-1]
            if not cand["static"] and cand["output_psnr"] <= cand["input_psnr"]:
                every_clip_above_input = False
            if not cand["static"] and len(crops) < 6 and len(rows["base"]) <= 2:
                b, g = clip["blurred"], clip["sharp"]
                t = len(b) // 2
                outs = [run_model(runs["base"], b, False)[t], run_model(runs["candidate"], b, False)[t]]
                h, w = b.shape[1:3]
                ch, cw = min(160, h), min(200, w)
                y0, x0 = (h - ch) // 2, (w - cw) // 2
                crops.append(np.concatenate([f[y0:y0 + ch, x0:x0 + cw] for f in (b[t], *outs, g[t])], axis=1))
        report["sets"][folder.name] = {role: {**summarise(r), "per_clip": r} for role, r in rows.items()}
        for role in rows:
            s = report["sets"][folder.name][role]
            if "mean" in s:
                blurred_means[role].append(s)
            brief = {k: round(v, 4) for k, v in s.get("mean", {}).items()
                     if k.startswith(("output_", "truth_", "input_sharp", "flicker"))}
            print(f"{folder.name} {role}: {json.dumps(brief)}", flush=True)

    def avg(role: str, key: str) -> float:
        return float(np.mean([s["mean"][key] for s in blurred_means[role]]))

    gap = {r: abs(avg(r, "output_sharpness") / avg(r, "truth_sharpness") - 1) for r in runs}
    flick = {r: avg(r, "flicker_output") for r in runs}
    checks = {"sharpness_closer_to_truth": gap["candidate"] < gap["base"],
              "psnr_above_input_on_every_clip": every_clip_above_input,
              "flicker_not_above_base": flick["candidate"] <= flick["base"]}
    report.update(sharpness_gap=gap, flicker=flick, psnr={r: avg(r, "output_psnr") for r in runs},
                  gmsd={r: avg(r, "output_gmsd") for r in runs}, checks=checks, accepted=all(checks.values()))
    print(json.dumps({k: report[k] for k in ("sharpness_gap", "flicker", "psnr", "gmsd", "checks", "accepted")},
                     indent=1))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report, indent=1) + "\n")
    if a.png and crops:
        a.png.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(a.png), cv2.cvtColor(np.concatenate(crops, axis=0), cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
