#!/usr/bin/env python3
"""Model-only GPU benchmark of the torch CUDA backend: fps and per-step latency (CUDA events) at 720p and
1080p, fp16, eager and CUDA-graph replay. Transfers are NOT included (window and state stay on the GPU).

  python benchmarks/gpu_model.py --json benchmarks/results/gpu_model.json
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.model.loading import load_model  # noqa: E402
from vdeblur.stats import summarize  # noqa: E402


def bench(net, h, w, graph: bool, warmup_s: float, iters: int) -> dict:
    dev = torch.device("cuda")
    net = net.to(dev, torch.float16).to(memory_format=torch.channels_last).eval()
    win = torch.rand(1, net.window, 3, h, w, device=dev, dtype=torch.float16)
    state = list(net.init_state(1, h, w, device=dev, dtype=torch.float16))
    with torch.inference_mode():
        if graph:
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    net(win, *state)
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                outs = net(win, *state)

            def step():
                g.replay()
                for dst, src in zip(state, outs[1:]):
                    dst.copy_(src)
        else:
            def step():
                out = net(win, *state)
                state[:] = out[1:]
        t_end = time.perf_counter() + warmup_s
        while time.perf_counter() < t_end:
            step()
        torch.cuda.synchronize()
        times = []
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
        t0 = time.perf_counter()
        for i in range(iters):
            starts[i].record()
            step()
            ends[i].record()
        torch.cuda.synchronize()
        wall = time.perf_counter() - t0
        times = [s.elapsed_time(e) for s, e in zip(starts, ends)]
    r = summarize(times)
    return {"fps": iters / wall, "gpu_ms": r, "peak_mem_mb": torch.cuda.max_memory_allocated() / 2**20}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--warmup-s", type=float, default=1.0)
    a = ap.parse_args()
    res = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "host": platform.node(), "transfers_included": False, "runs": []}
    print(f"{res['gpu']}, torch {res['torch']}")
    print(f"{'model':6} {'size':10} {'mode':6} {'fps':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for model in ("small", "base"):
        for (w, h) in ((1280, 720), (1920, 1080)):
            for graph in (False, True):
                net, _ = load_model(model)
                r = bench(net, h, w, graph, a.warmup_s, a.iters)
                r.update(model=model, size=f"{w}x{h}", mode="graph" if graph else "eager")
                res["runs"].append(r)
                print(f"{model:6} {w}x{h:<5} {r['mode']:6} {r['fps']:8.1f} {r['gpu_ms']['median']:8.2f} "
                      f"{r['gpu_ms']['p99']:8.2f}", flush=True)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
