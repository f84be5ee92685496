"""`vdeblur bench`: FPS and latency of the real pipeline, per stage and end to end, trtexec-style.

For each configuration (backend x model x size): warm the backend up by time, run the file pipeline
(decode -> preprocess -> inference -> postprocess -> encode, stages overlapping in their threads) over
the clip, then time the model step alone over the same number of frames. Reported: per-stage and
end-to-end (decoded -> muxed) min/mean/median/p90/p95/p99 in ms, throughput = frames / wall time,
model-only fps and pipeline efficiency (pipeline fps / model fps), peak RSS and, on CUDA, peak device
memory and GPU compute time from CUDA events.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import platform
import resource
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .backends import open_backend
from .backends.probe import cpu_model
from .config import EncodeConfig, ModelConfig, Precision, RunConfig
from .errors import VdeblurError
from .geometry import FrameGeometry
from .geometry import parse_size as geometry_parse_size
from .pipeline import STAGES, Interrupted, run_file
from .ring import on_gpu
from .report import model_name
from .source import is_live
from .stats import StageTimes, summarize

log = logging.getLogger("vdeblur")
CV_WARN = 0.10


@dataclass(frozen=True)
class BenchConfig:
    input: str | None = None            # a video file, or None for a synthetic clip
    size: tuple[int, int] = (640, 360)  # synthetic clip size (W, H)
    frames: int = 300
    warmup_s: float = 0.5
    model: ModelConfig = ModelConfig()
    encode: EncodeConfig = EncodeConfig()


def parse_size(s: str) -> tuple[int, int]:
    """A synthetic clip's size, (w, h) as BenchConfig holds it (geometry.parse_size, within 8..8192)."""
    try:
        h, w = geometry_parse_size(s, 8, 8192)
    except ValueError as e:
        raise VdeblurError(f"bad size: {e} (e.g. 1280x720)") from None
    return w, h


def parse_matrix(items: list[str]) -> list[dict]:
    """["backend=onnxruntime,torch", "size=640x360,1280x720"] -> every combination as a dict."""
    axes: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not values or key not in ("backend", "size", "model", "precision"):
            raise VdeblurError(f"bad --matrix item '{item}': use backend=..., size=..., model=... or precision=...")
        axes[key] = [v for v in values.split(",") if v]
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def synthetic_clip(path: Path, frames: int, w: int, h: int) -> None:
    """A moving textured pattern, H.264 (fast preset), for repeatable pipeline runs."""
    import av

    rng = np.random.default_rng(0)
    tile = rng.integers(0, 255, (h // 4 + 32, w // 4 + 32, 3), dtype=np.uint8)
    base = np.kron(tile, np.ones((4, 4, 1), np.uint8))
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "20"}
        for i in range(frames):
            dy = int(60 + 50 * np.sin(i / 9))
            dx = int(60 + 50 * np.cos(i / 13))
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(base[dy:dy + h, dx:dx + w]), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def hardware() -> dict:
    info = {"machine": platform.machine(), "system": platform.platform(), "python": platform.python_version(),
            "cores": os.cpu_count()}
    try:
        info["cores_available"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    info["cpu"] = cpu_model()
    import importlib.metadata

    versions = {}
    for dist in ("torch", "onnxruntime", "openvino", "av", "numpy"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    from . import __version__

    versions["vdeblur"] = __version__
    info["versions"] = versions
    from .backends import cuda_available

    if cuda_available():
        import torch

        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
        try:
            import subprocess

            info["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                            capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return info


def _window(backend, ph: int, pw: int):
    """A random (1, K, 3, ph, pw) window as the backend takes it: numpy on the CPU, a tensor on its GPU."""
    if on_gpu(backend.device):
        import torch

        return torch.rand(1, backend.window, 3, ph, pw).to(backend.device)
    return np.random.default_rng(0).random((1, backend.window, 3, ph, pw), dtype=np.float32)


def _warmup(backend, h: int, w: int, seconds: float) -> None:
    ph, pw = FrameGeometry(h, w, backend.stride).padded
    win = _window(backend, ph, pw)
    state = backend.init_state(ph, pw)
    cuda = on_gpu(backend.device)
    t_end = time.perf_counter() + seconds
    while True:
        _, state = backend.step(win, state)
        if cuda:
            import torch

            torch.cuda.synchronize()
        if time.perf_counter() >= t_end:
            break


def _model_only(backend, h: int, w: int, frames: int, max_s: float = 10.0) -> dict:
    """The model step alone on a resident window (no decode, no transfers for GPU backends)."""
    ph, pw = FrameGeometry(h, w, backend.stride).padded
    win = _window(backend, ph, pw)
    state = backend.init_state(ph, pw)
    cuda = on_gpu(backend.device)
    if cuda:
        import torch
    host, gpu = [], []
    t0 = time.perf_counter()
    for _ in range(frames):
        if cuda:
            ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            ev0.record()
        t = time.perf_counter()
        _, state = backend.step(win, state)
        if cuda:
            ev1.record()
            torch.cuda.synchronize()
            gpu.append(ev0.elapsed_time(ev1))
        host.append((time.perf_counter() - t) * 1e3)
        if time.perf_counter() - t0 > max_s:
            break
    wall = time.perf_counter() - t0
    out = {"frames": len(host), "fps": len(host) / wall, "host_ms": summarize(host)}
    if cuda:
        out["gpu_compute_ms"] = summarize(gpu)
    return out


def run_one(bc: BenchConfig, tmp: Path) -> tuple[dict, dict]:
    """(result, raw per-stage samples) for one configuration."""
    if bc.input:
        clip = bc.input
    else:
        w, h = bc.size
        clip = str(tmp / f"synthetic_{w}x{h}_{bc.frames}.mp4")
        if not Path(clip).exists():
            synthetic_clip(Path(clip), bc.frames, w, h)
    from .source import Source

    src = Source(clip, timeout=(10.0, 5.0) if is_live(clip) else None)
    w, h = src.info.width, src.info.height
    src.close()
    backend = open_backend(bc.model, log=log.info, size=(h, w))
    cuda = on_gpu(backend.device)
    try:
        _warmup(backend, h, w, bc.warmup_s)
        if cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        timer = StageTimes(STAGES)
        out = tmp / "bench_out.mp4"
        # A live input is bounded by --frames (bench_args makes sure it was given).
        cfg = RunConfig(input=clip, output=str(out), overwrite=True, model=bc.model, encode=bc.encode,
                        progress=False, max_frames=bc.frames if bc.input and is_live(bc.input) else None)
        try:
            s = run_file(cfg, backend=backend, timer=timer)
        except Interrupted as e:    # its message names an output in a folder about to be removed
            stopped = VdeblurError(f"bench interrupted after {e.summary['frames_out'] if e.summary else 0} frames; "
                                   f"no figures were written")
            stopped.exit_code = e.exit_code
            raise stopped from None
        model = _model_only(backend, h, w, s["frames_out"])
        result = {
            "backend": backend.name, "device": str(backend.device), "model": model_name(backend.info, bc.model.spec),
            "precision": backend.precision.value, "size": f"{w}x{h}", "frames": s["frames_out"],
            "pipeline_fps": s["fps"], "wall_s": s["wall_s"], "stages_ms": s["stages_ms"],
            "model_only": model, "pipeline_efficiency": s["fps"] / model["fps"] if model["fps"] else None,
            "transfers_included": {"pipeline": True, "model_only": False},
            "peak_rss_mb_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        if cuda:
            result["peak_gpu_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20  # noqa: F821 - imported above
        result["warnings"] = warnings_for(result)
        return result, {k: list(v) for k, v in timer.samples.items()}
    finally:
        backend.close()


EFFICIENCY_MAX = 1.05     # a pipeline cannot beat the network it runs: above this the figures disagree


def warnings_for(r: dict) -> list[str]:
    out = []
    eff = r.get("pipeline_efficiency")
    if eff is not None and eff > EFFICIENCY_MAX:
        r["valid"] = False
        out.append(f"INVALID: the pipeline ({r['pipeline_fps']:.1f} fps) beat the model-only figure "
                   f"({r['model_only']['fps']:.1f} fps), efficiency {eff:.2f} > 1: the two runs did not see the "
                   "same machine (another load came or went, CPU frequency changed); run again on a quiet machine")
    else:
        r["valid"] = True
    inf = r["stages_ms"].get("inference", {})
    if inf.get("count") and inf["cv"] > CV_WARN:
        out.append(f"inference time varies a lot (coefficient of variation {inf['cv']:.2f} > {CV_WARN}); "
                   "the machine may be busy: results may be unreliable")
    means = {k: v["mean"] for k, v in r["stages_ms"].items() if k != "end_to_end" and v.get("count")}
    if means:
        worst = max(means, key=means.get)
        if worst != "inference":
            out.append(f"{worst} ({means[worst]:.1f} ms mean) is slower than inference "
                       f"({means.get('inference', 0):.1f} ms): the pipeline is not model-bound")
    return out


def run_bench(base: BenchConfig, matrix: list[dict] | None = None) -> dict:
    combos = matrix or [{}]
    results, samples = [], []
    with tempfile.TemporaryDirectory(prefix="vdeblur-bench-") as tmp:
        for combo in combos:
            bc = base
            m = bc.model
            if "backend" in combo:
                m = replace(m, backend=combo["backend"])
            if "model" in combo:
                m = replace(m, spec=combo["model"])
            if "precision" in combo:
                m = replace(m, precision=Precision(combo["precision"]))
            bc = replace(bc, model=m)
            if "size" in combo:
                if bc.input:
                    raise VdeblurError("--matrix size=... needs --synthetic, not an INPUT file")
                bc = replace(bc, size=parse_size(combo["size"]))
            r, raw = run_one(bc, Path(tmp))
            results.append(r)
            samples.append(raw)
            for w in r["warnings"]:
                log.warning(f"warning [{r['backend']} {r['model']} {r['size']}]: {w}")
    return {"hardware": hardware(), "frames_requested": base.frames, "warmup_s": base.warmup_s,
            "input": base.input or "synthetic", "percentiles": "trtexec convention (see vdeblur/stats.py)",
            "results": results}, samples


def table(report: dict) -> str:
    rows = ["| backend | model | size | pipeline fps | model-only fps | efficiency | inference p50 / p99 ms "
            "| end-to-end p50 / p99 ms | peak RSS MB |", "|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        inf, e2e = r["stages_ms"]["inference"], r["stages_ms"]["end_to_end"]
        rows.append(f"| {r['backend']} ({r['device']}, {r['precision']}) | {r['model']} | {r['size']} | {r['pipeline_fps']:.1f} | "
                    f"{r['model_only']['fps']:.1f} | {r['pipeline_efficiency']:.2f}"
                    f"{'' if r.get('valid', True) else ' (invalid)'} | "
                    f"{inf['median']:.1f} / {inf['p99']:.1f} | {e2e['median']:.0f} / {e2e['p99']:.0f} | "
                    f"{r['peak_rss_mb_process']:.0f} |")
    return "\n".join(rows)


def plot(report: dict, samples: list[dict], path: str) -> None:
    """Three panels: per-stage latency (boxes, whiskers at p1/p99, stages down the side so their names
    never overlap), end-to-end latency as an ECDF with p50/p99 marked, and fps bars with their values;
    the hardware in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = report["results"]
    names = [f"{r['backend']} {r['precision']} {r['model']} {r['size']}" for r in res]
    stages = [s for s in STAGES if s != "end_to_end"]
    fig, (ax_st, ax_e2e, ax_fps) = plt.subplots(1, 3, figsize=(16, 2.2 + 0.9 * len(stages) * max(1, len(res)) / 2),
                                               gridspec_kw={"width_ratios": [1.3, 1.1, 0.9]})
    height = 0.8 / len(res)
    for i, raw in enumerate(samples):
        data = [raw[s] or [0.0] for s in stages]
        pos = np.arange(len(stages)) - 0.4 + height * (i + 0.5)
        ax_st.boxplot(data, positions=pos, widths=height * 0.85, vert=False, whis=(1, 99), showfliers=False,
                      patch_artist=True, boxprops={"facecolor": f"C{i}", "alpha": 0.6},
                      medianprops={"color": "black"})
    ax_st.legend([plt.Rectangle((0, 0), 1, 1, fc=f"C{i}", alpha=0.6) for i in range(len(res))], names, fontsize=7,
                 loc="lower right")
    ax_st.set_yticks(np.arange(len(stages)), stages)
    ax_st.invert_yaxis()
    ax_st.set_xlabel("ms per frame (box: p25-p75, line: median, whiskers: p1-p99)")
    ax_st.set_title("latency per stage")
    ax_st.grid(axis="x", alpha=0.3)
    for i, raw in enumerate(samples):
        e2e = np.sort(np.asarray(raw.get("end_to_end") or [0.0]))
        ax_e2e.step(e2e, np.arange(1, len(e2e) + 1) / len(e2e), where="post", color=f"C{i}", label=names[i])
        for q, marker in ((50, "o"), (99, "^")):
            v = float(np.percentile(e2e, q))
            ax_e2e.plot([v], [q / 100], marker, color=f"C{i}")
            ax_e2e.annotate(f"p{q} {v:.0f}", (v, q / 100), textcoords="offset points", xytext=(5, -10 - 10 * i),
                            fontsize=7, color=f"C{i}")
    ax_e2e.set_xlabel("ms, decoded -> written")
    ax_e2e.set_ylabel("fraction of frames")
    ax_e2e.set_title("end-to-end latency (ECDF)")
    ax_e2e.grid(alpha=0.3)
    ax_e2e.legend(fontsize=7, loc="lower right")
    y = np.arange(len(res))
    colours = [f"C{i}" for i in range(len(res))]      # the same colour per configuration in every panel
    for offset, key, label, style in ((-0.2, "pipeline_fps", "pipeline", {}),
                                      (0.2, None, "model only", {"alpha": 0.45, "hatch": "//"})):
        values = [r[key] if key else r["model_only"]["fps"] for r in res]
        bars = ax_fps.barh(y + offset, values, 0.4, color=colours, label=label, **style)
        ax_fps.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    ax_fps.set_yticks(y, names, fontsize=8)
    ax_fps.invert_yaxis()
    ax_fps.set_xlabel("frames / s")
    ax_fps.set_title("throughput")
    ax_fps.margins(x=0.2)
    ax_fps.legend([plt.Rectangle((0, 0), 1, 1, fc="grey"), plt.Rectangle((0, 0), 1, 1, fc="grey", alpha=0.45,
                                                                         hatch="//")],
                  ["pipeline", "model only"], fontsize=8, loc="best")
    hw = report["hardware"]
    fig.suptitle(f"vdeblur bench on {hw.get('cpu', '?')} ({hw.get('cores_available', hw['cores'])} cores)"
                 + (f", {hw['gpu']}" if "gpu" in hw else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save(report: dict, json_path: str | None) -> None:
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
