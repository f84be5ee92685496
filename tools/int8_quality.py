#!/usr/bin/env python3
"""INT8 against fp32 on the validation sets (ONNX Runtime, the same shipped calibration as at run time).

  python tools/int8_quality.py clips/val/heavy clips/val/mild clips/val/sharp --model small \
      --json benchmarks/eval/small_int8.json --record

Per clip (state carried over every frame, scene-cut detection off, as tools/evaluate.py): PSNR of the int8
output against the fp32 output, and the gain (output PSNR - input PSNR against the ground truth) of each.
Static clips (target = input) report output-vs-input PSNR instead of a gain. The int8 form is validated
when every clip's int8-vs-fp32 PSNR is >= 40 dB and each set's mean gain is within 0.15 dB of fp32's;
--record writes the result into the weights' metadata and card (`--precision auto` runs int8 on the CPU
only for weights recorded as validated).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.backends.ort_backend import OrtBackend  # noqa: E402
from vdeblur.backends.probe import cpu_model  # noqa: E402
from vdeblur.backends.quantize import QUANT_VERSION, cpu_has_vnni  # noqa: E402
from vdeblur.config import Precision  # noqa: E402
from vdeblur.deblurrer import Deblurrer  # noqa: E402
from vdeblur.backends.exported import exported_step  # noqa: E402
from vdeblur.model.loading import update_info, weights_path  # noqa: E402
from vdeblur.training.clips import load_clip_folder  # noqa: E402

MIN_PSNR_DB = 40.0
MAX_GAIN_DELTA_DB = 0.15


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="+", type=Path, help="validation set folders (tools/synthesize.py output)")
    ap.add_argument("--model", default="small")
    ap.add_argument("--backend", default="onnxruntime", choices=["onnxruntime", "openvino"],
                    help="the CPU backend whose fp32 and int8 are compared (the int8 model is the same file)")
    ap.add_argument("--frames", type=int, default=24, help="frames per clip (state carried)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--record", action="store_true", help="write the result into the weights' info and card")
    a = ap.parse_args(argv)
    if a.record and a.backend != "onnxruntime":
        raise SystemExit("--record takes the onnxruntime figures (the reference int8 runtime)")
    step = exported_step(a.model)
    make = OrtBackend
    if a.backend == "openvino":
        from vdeblur.backends.openvino_backend import OpenVinoBackend as make
    runs = {p: Deblurrer(make(step, precision=p), scene_cut=False) for p in (Precision.FP32, Precision.INT8)}
    report: dict = {"model": a.model, "backend": a.backend, "cpu": cpu_model(), "vnni": cpu_has_vnni(), "quant_version": QUANT_VERSION,
                    "frames_per_clip": a.frames, "sets": {}}
    ok = True
    for folder in a.sets:
        rows = []
        for clip in load_clip_folder(folder):
            frames, truth = clip["blurred"][:a.frames], clip["sharp"][:a.frames]
            out = {}
            for p, d in runs.items():
                d.reset()
                out[p] = np.stack([d.process(np.ascontiguousarray(f)) for f in frames])
            row = {"clip": clip["name"], "frames": len(frames), "static": bool(clip.get("static")),
                   "int8_vs_fp32_psnr": psnr(out[Precision.INT8], out[Precision.FP32])}
            if row["static"]:
                row.update(fp32_vs_input=psnr(out[Precision.FP32], frames), int8_vs_input=psnr(out[Precision.INT8], frames))
            else:
                base = psnr(frames, truth)
                row.update(fp32_gain=psnr(out[Precision.FP32], truth) - base, int8_gain=psnr(out[Precision.INT8], truth) - base)
            rows.append(row)
            print(folder.name, json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        s = {"clips": rows, "min_int8_vs_fp32_psnr": min(r["int8_vs_fp32_psnr"] for r in rows)}
        gains = [r for r in rows if not r["static"]]
        if gains:
            s["fp32_gain"] = float(np.mean([r["fp32_gain"] for r in gains]))
            s["int8_gain"] = float(np.mean([r["int8_gain"] for r in gains]))
            s["gain_delta"] = s["int8_gain"] - s["fp32_gain"]
            ok &= abs(s["gain_delta"]) <= MAX_GAIN_DELTA_DB
        ok &= s["min_int8_vs_fp32_psnr"] >= MIN_PSNR_DB
        report["sets"][folder.name] = s
    report["validated"] = bool(ok)
    for name, s in report["sets"].items():
        extra = f", gain fp32 {s['fp32_gain']:+.3f} dB int8 {s['int8_gain']:+.3f} dB" if "fp32_gain" in s else ""
        print(f"{name}: int8 vs fp32 >= {s['min_int8_vs_fp32_psnr']:.2f} dB{extra}")
    print(f"validated: {report['validated']} (every clip >= {MIN_PSNR_DB} dB, set gains within {MAX_GAIN_DELTA_DB} dB)")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report, indent=1) + "\n")
    if a.record:
        summary = {k: v for k, v in report.items() if k != "sets"}
        summary["sets"] = {n: {k: v for k, v in s.items() if k != "clips"} for n, s in report["sets"].items()}
        update_info(weights_path(a.model), int8=summary)
        print(f"recorded in {weights_path(a.model)} and its card")
    return 0


if __name__ == "__main__":
    sys.exit(main())
