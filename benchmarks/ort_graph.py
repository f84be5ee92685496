"""ONNX Runtime CPU: the exported step with the pixel-shuffles folded into transposed convs (the two
upsampling steps, and the head's output) against the plain graph (DepthToSpace), same weights, same
inputs, one process, interleaved runs.

    python benchmarks/ort_graph.py --model small --size 640x360 --json benchmarks/results/pixel_shuffle_fold.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.backends.onnx_export import export_onnx  # noqa: E402
from vdeblur.bench import hardware  # noqa: E402
from vdeblur.model.loading import load_model  # noqa: E402
from vdeblur.model.net import DeblurNet  # noqa: E402


def session(path: Path, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="small")
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    net, _ = load_model(a.model)
    tmp = Path(tempfile.mkdtemp())
    export_onnx(net, tmp / "folded.onnx")
    orig = DeblurNet._upsample, DeblurNet._pixel_shuffle
    DeblurNet._upsample = staticmethod(lambda up, x: up(x))
    DeblurNet._pixel_shuffle = lambda self, y: torch.nn.functional.pixel_shuffle(y, 2)
    try:
        export_onnx(net, tmp / "depth_to_space.onnx")
    finally:
        DeblurNet._upsample, DeblurNet._pixel_shuffle = orig
    rng = np.random.default_rng(0)
    feeds = {"window": rng.random((1, net.window, 3, h, w), np.float32)}
    for name, shape in zip(net.state_names, net.state_shapes(1, h, w)):
        feeds[name] = rng.random(shape, np.float32)
    fps = {"folded": [], "depth_to_space": []}
    outs = {}
    for _ in range(a.reps):
        for name in fps:
            s = session(tmp / f"{name}.onnx", a.threads)   # one live session at a time (no idle spinners)
            outs[name] = s.run(None, feeds)
            for _ in range(5):
                s.run(None, feeds)
            t = time.perf_counter()
            for _ in range(a.steps):
                s.run(None, feeds)
            fps[name].append(a.steps / (time.perf_counter() - t))
            del s
            print(f"{name}: {fps[name][-1]:.2f} fps", flush=True)
    diff = max(float(np.abs(x - y).max()) for x, y in zip(outs["folded"], outs["depth_to_space"]))
    report = {"hardware": hardware(), "model": a.model, "size": a.size, "threads": a.threads, "fps": fps,
              "median_ratio_folded_over_plain": float(np.median(fps["folded"]) / np.median(fps["depth_to_space"])),
              "max_abs_diff": diff}
    print(json.dumps({k: report[k] for k in ("median_ratio_folded_over_plain", "max_abs_diff")}))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
