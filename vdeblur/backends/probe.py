"""`--backend auto` on a CPU: the fastest *measured* backend and precision for this model, size and machine.

On first use each candidate (every installed CPU backend x fp32 / int8) is opened and timed for a moment at
the run's frame size; the result is cached in the ONNX cache folder under a key made of everything that
changes the answer: the CPU model, the thread count, the library versions, the weights and the size. Later
runs read the cache and open only the winner. int8 is a candidate only where the precision allows it: asked
for, or `auto` with weights whose int8 quality was validated (base.int8_validated).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import ModelConfig, Precision
from ..errors import VdeblurError
from ..geometry import FrameGeometry
from .base import cpu_threads, entry, int8_validated
from .cache import atomic_write

log = logging.getLogger("vdeblur")

CPU_BACKENDS = ("openvino", "onnxruntime")
PROBE_SIZE = (368, 640)         # (h, w) when the frame size is not known (640x360 padded)
PROBE_MAX_PX = 640 * 368        # bigger frames are probed at this size: every candidate is open at once, and
                                # at 8K that would be gigabytes; per-pixel costs rank the same
PROBE_S = 0.4                   # timed seconds per candidate, after two warm-up steps
PROBE_ROUNDS = 2
PROBE_CLOSE = 0.05               # leaders within 5 % of each other ...
PROBE_TIEBREAK_ROUNDS = 2       # ... are timed again, up to this many more rounds
PROBE_MAX_STEPS = 40            # enough for a fast model at a small size (the time limit rules the rest)
PROBE_VERSION = 2


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("onnxruntime", "openvino", "torch"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def candidates(cfg: ModelConfig, info: dict) -> list[tuple[str, Precision]]:
    names = [n for n in CPU_BACKENDS if entry(n).available()]
    if cfg.precision == Precision.AUTO:
        precisions = [Precision.FP32] + ([Precision.INT8] if int8_validated(info) else [])
    else:
        precisions = [cfg.precision]
    return [(n, p) for n in names for p in precisions]


def cache_key(cfg: ModelConfig, digest: str, size: tuple[int, int], cands) -> str:
    blob = json.dumps({"v": PROBE_VERSION, "cpu": cpu_model(), "threads": cpu_threads(cfg.threads),
                       "versions": _versions(), "weights": digest, "size": size,
                       "calibration": cfg.calibration, "candidates": [(n, p.value) for n, p in cands]},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def measure(backend, h: int, w: int, seconds: float = PROBE_S) -> float:
    """Steps per second of backend.step at padded size h x w (a fixed random window, state carried)."""
    window = np.random.default_rng(0).random((1, backend.window, 3, h, w), dtype=np.float32)
    state = backend.init_state(h, w)
    for _ in range(2):
        _, state = backend.step(window, state)
    n, t0 = 0, time.perf_counter()
    while True:
        _, state = backend.step(window, state)
        n += 1
        elapsed = time.perf_counter() - t0
        if n >= 3 and (elapsed >= seconds or n >= PROBE_MAX_STEPS):
            return n / elapsed


def choose(cfg: ModelConfig, size: tuple[int, int] | None, stride: int = 8):
    """Open and return the fastest CPU backend for cfg (a backend instance), measuring on first use."""
    from .cache import cache_dir
    from .exported import exported_step

    step = exported_step(cfg.spec)
    info = step.info
    if size and size[0] * size[1] > PROBE_MAX_PX:
        scale = (PROBE_MAX_PX / (size[0] * size[1])) ** 0.5
        size = (max(1, int(size[0] * scale)), max(1, int(size[1] * scale)))
    h, w = FrameGeometry(*size, stride).padded if size else PROBE_SIZE
    cands = candidates(cfg, info)
    if not cands:
        raise VdeblurError("no CPU backend installed (pip install onnxruntime, or 'vdeblur[openvino]')")
    path = cache_dir() / "auto" / f"{cache_key(cfg, step.spec.digest, (h, w), cands)}.json"
    if path.exists():
        try:
            choice = json.loads(path.read_text())
            name, precision = choice["backend"], Precision(choice["precision"])
            backend = entry(name).load().from_config(replace(cfg, backend=name, precision=precision))
            log.info(f"auto: {name} {precision.value}, {choice['fps']:.1f} fps measured at {w}x{h} (cached)")
            return backend
        except (OSError, ValueError, KeyError, VdeblurError):
            pass            # a damaged or stale entry: measure again
    # Every candidate open at once and timed in turns, twice, keeping each one's better figure: a burst of
    # load from another process then hurts one turn, not one candidate's only measurement.
    log.info(f"auto: first run of this model at {w}x{h} on this CPU: timing {len(cands)} backend/precision "
             f"pair(s), about {PROBE_S * len(cands) + 2 * len(cands):.0f} s (int8 is quantized first where asked); "
             f"the pick is cached")
    opened = []
    for name, precision in cands:
        try:
            opened.append((name, precision, entry(name).load().from_config(replace(cfg, backend=name, precision=precision))))
        except VdeblurError as e:
            log.warning(f"warning: auto: {name} {precision.value} unusable here ({e})")
    rate: dict[int, float] = {}
    for _ in range(PROBE_ROUNDS):
        for i, (name, precision, backend) in enumerate(opened):
            try:
                rate[i] = max(rate.get(i, 0.0), measure(backend, h, w, PROBE_S / PROBE_ROUNDS))
            except VdeblurError as e:
                log.warning(f"warning: auto: {name} {precision.value} unusable here ({e})")
                rate[i] = -1.0
    if not opened or max(rate.values()) <= 0:
        for *_, b in opened:
            b.close()
        raise VdeblurError("auto: no CPU backend could run the model (see the warnings above)")
    # A close race is run again between its two leaders, so the pick does not flip from run to run on noise.
    for _ in range(PROBE_TIEBREAK_ROUNDS):
        top = sorted(rate, key=rate.get, reverse=True)[:2]
        if len(top) < 2 or rate[top[1]] <= 0 or rate[top[0]] / rate[top[1]] > 1 + PROBE_CLOSE:
            break
        for i in top:
            rate[i] = max(rate[i], measure(opened[i][2], h, w, PROBE_S / PROBE_ROUNDS))
    win = max(rate, key=rate.get)
    for i, (*_, b) in enumerate(opened):
        if i != win:
            b.close()
    measured = [{"backend": n, "precision": p.value, "fps": round(rate[i], 2)} for i, (n, p, _) in enumerate(opened)]
    name, precision, backend = opened[win]
    fps = rate[win]
    others = ", ".join(f"{m['backend']} {m['precision']} {m['fps']:.1f}" for m in measured
                       if (m["backend"], m["precision"]) != (name, precision.value))
    log.info(f"auto: {name} {precision.value}, {fps:.1f} fps measured at {w}x{h}" + (f" ({others})" if others else ""))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"backend": name, "precision": precision.value, "fps": fps, "size": [w, h],
                                       "cpu": cpu_model(), "measured": measured}, indent=1).encode())
    except OSError:
        pass                # an unwritable cache only costs the next run another probe
    return backend
