#!/usr/bin/env python3
"""Start-up: `vdeblur --help`, `import vdeblur`, and the time from launch to the first deblurred frame on
standard output (warm model cache, CPU, the default backend), each the median of --reps runs.

  python benchmarks/startup.py --json benchmarks/results/startup_cpu.json

The first frame is timed through a y4m pipe: the clock stops when the first FRAME's bytes have all arrived.
Pause other CPU work first: these are wall-clock figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "vdeblur.cli"]


def wall(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def first_frame(clip: Path, extra: list[str], env: dict) -> tuple[float, float]:
    """(seconds to the first whole y4m frame, seconds to the end of the run)."""
    cmd = [*CLI, "run", str(clip), "-o", "-", "-f", "yuv4mpegpipe", "--quiet", *extra]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    header = p.stdout.readline().decode()
    fields = dict((f[0], f[1:]) for f in header.split()[1:])
    w, h = int(fields["W"]), int(fields["H"])
    p.stdout.readline()                                 # "FRAME"
    need = w * h * 3 // 2
    while need:
        need -= len(p.stdout.read(need))
    t_first = time.perf_counter() - t0
    p.stdout.read()
    p.wait()
    return t_first, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=ROOT / "examples" / "blurred.mp4")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--backend", action="append", default=None,
                    help="backends to time the first frame on (default: auto, onnxruntime, openvino)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.setdefault("VDEBLUR_CACHE", tempfile.mkdtemp(prefix="vdeblur-startup-"))
    report = {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
              "reps": a.reps, "clip": a.clip.name}
    try:
        from vdeblur.backends.probe import cpu_model

        report["cpu"] = cpu_model()
    except ImportError:
        pass
    report["help_s"] = statistics.median(wall([*CLI, "--help"], env) for _ in range(a.reps))
    report["import_s"] = statistics.median(wall([sys.executable, "-c", "import vdeblur"], env) for _ in range(a.reps))
    report["first_frame"] = {}
    for backend in a.backend or ["auto", "onnxruntime", "openvino"]:
        extra = ["--backend", backend]
        first_frame(a.clip, extra, env)                 # warm the cache (export, quantization, probe)
        runs = [first_frame(a.clip, extra, env) for _ in range(a.reps)]
        report["first_frame"][backend] = {"first_frame_s": statistics.median(r[0] for r in runs),
                                          "whole_run_s": statistics.median(r[1] for r in runs)}
    print(json.dumps(report, indent=1))
    if a.json:
        a.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
