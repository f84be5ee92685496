#!/usr/bin/env python3
"""Peak RSS of `vdeblur run` on a short and a 10x longer clip: memory must be flat in video length.

  python benchmarks/rss.py --frames 300 3000 --size 640x360 --json benchmarks/results/rss.json
Each run is its own process (os.wait4 gives that child's own peak RSS). Also reports each run's fps.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.bench import synthetic_clip  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, nargs="+", default=[300, 3000])
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--model", default="small")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    results = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "size": a.size,
               "model": a.model, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.frames:
            inp, out, js = Path(tmp) / f"in{n}.mp4", Path(tmp) / f"out{n}.mp4", Path(tmp) / f"s{n}.json"
            synthetic_clip(inp, n, w, h)
            p = subprocess.Popen([sys.executable, "-m", "vdeblur.cli", "run", str(inp), "-o", str(out), "-y",
                                  "--quiet", "--model", a.model, "--backend", a.backend, "--json", str(js)])
            _, status, usage = os.wait4(p.pid, 0)
            if status != 0:
                raise SystemExit(f"vdeblur run failed on {n} frames (status {status})")
            s = json.loads(js.read_text())
            r = {"frames": n, "peak_rss_mb": usage.ru_maxrss / 1024, "fps": s["fps"], "backend": s["backend"],
                 "frames_out": s["frames_out"], "inference_median_ms": s["stages_ms"]["inference"]["median"]}
            results["runs"].append(r)
            print(f"{n:6d} frames: peak RSS {r['peak_rss_mb']:.0f} MB, {r['fps']:.1f} fps ({r['backend']})",
                  flush=True)
    rss = [r["peak_rss_mb"] for r in results["runs"]]
    results["rss_ratio_longest_to_shortest"] = rss[-1] / rss[0]
    print(f"peak RSS ratio {a.frames[-1]} / {a.frames[0]} frames: {rss[-1] / rss[0]:.3f}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
