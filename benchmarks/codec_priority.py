"""A/B of the CPU file pipeline's scheduling: ONNX Runtime workers spinning or sleeping between
operators, and decode/encode threads at normal or idle (SCHED_IDLE) priority. One process, one machine.

    python benchmarks/codec_priority.py --frames 300 --reps 3 --json benchmarks/results/codec_priority_cpu.json

All variants: ONNX Runtime, `small`, x264 veryfast CRF 18, the synthetic 640x360 clip of `vdeblur bench`.
One ONNX Runtime session lives at a time, and runs are interleaved (A B C D A B C D ...) so drift in the
machine's load hits every variant alike. Efficiency is the median pipeline fps over the better median
model-only fps of the two settings.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.backends.ort_backend import OrtBackend  # noqa: E402
from vdeblur.bench import _model_only, _warmup, hardware, synthetic_clip  # noqa: E402
from vdeblur.config import EncodeConfig, ModelConfig, RunConfig  # noqa: E402
from vdeblur.backends.exported import exported_step  # noqa: E402
from vdeblur.pipeline import STAGES, run_file  # noqa: E402
from vdeblur.stats import StageTimes  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--json")
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    step = exported_step("small")
    tmp = Path(tempfile.mkdtemp())
    clip = tmp / "clip.mp4"
    synthetic_clip(clip, a.frames, w, h)
    enc = EncodeConfig(preset="veryfast")
    # One session at a time: an idle session's spinning workers would steal the cores from another.
    def backend(kind: str) -> OrtBackend:
        b = OrtBackend(step, 2, spin=kind == "spin")
        _warmup(b, h, w, 1.0)
        return b

    variants = {"spin": ("spin", False), "nospin": ("nospin", False), "spin-idle": ("spin", True),
                "nospin-idle": ("nospin", True)}
    results = {k: [] for k in variants}
    model = {"spin": [], "nospin": []}
    for rep in range(a.reps):
        for name, (bk, idle) in variants.items():
            cfg = RunConfig(input=str(clip), output=str(tmp / "out.mp4"), overwrite=True,
                            progress=False, encode=enc, codec_idle=idle,
                            model=ModelConfig(backend="onnxruntime"))
            b = backend(bk)
            s = run_file(cfg, backend=b, timer=StageTimes(STAGES))
            b.close()
            results[name].append(s["fps"])
            print(f"rep {rep} {name}: {s['fps']:.2f} fps", flush=True)
        for bk in model:
            b = backend(bk)
            model[bk].append(_model_only(b, h, w, a.frames)["fps"])
            b.close()
            print(f"rep {rep} model-only {bk}: {model[bk][-1]:.2f} fps", flush=True)
    med = lambda v: float(sorted(v)[len(v) // 2])  # noqa: E731
    best_model = max(med(v) for v in model.values())
    summary = {
        "hardware": hardware(), "size": a.size, "frames": a.frames, "encoder": "libx264 veryfast crf 18",
        "pipeline_fps": results, "model_only_fps": model,
        "efficiency_vs_best_model_only": {k: med(v) / best_model for k, v in results.items()},
    }
    print(json.dumps({k: summary[k] for k in ("pipeline_fps", "model_only_fps",
                                              "efficiency_vs_best_model_only")}, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
