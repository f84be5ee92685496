"""How a run fits its memory budget: whole frames or tiles, and how many frames wait between stages.

An estimate, from figures measured with `benchmarks/rss.py` (peak RSS of `vdeblur run`, ONNX Runtime on the
CPU, `small`): a fixed part (interpreter, libraries, the model and its runtime) plus, per frame pixel, what
frame-sized buffers cost (RGB frames waiting in the queues, the encoder's own pictures) plus, per pixel a
step runs on, what the step costs (activations, the float window ring). Frames whose estimate exceeds the
budget are run as tiles (Deblurrer(tile=...)), with the largest tile that fits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .config import Precision

FIXED_MB = 450              # imports + model + runtime arenas at a small size (measured ~350 MB) and slack
# Per pixel a step runs on, for the `small` widths (16 channels at 1/2 scale); scaled by widths[0] / 16.
STEP_BYTES_PER_PX = {Precision.FP32: 240, Precision.INT8: 290, Precision.FP16: 240}
QUEUE_FRAME_BYTES_PER_PX = 3 + 1.5   # an RGB frame waiting, plus the decoded YUV 4:2:0 frame behind it
# Frames in the stages' hands: decode (YUV + RGB), inference (in + out), encode (RGB, its VideoFrame, YUV).
IN_FLIGHT_BYTES_PER_PX = 4.5 + 6 + 7.5
# What x264 holds per frame pixel (lookahead, B-frames, frame threads, half-pel planes), measured at 8K on a
# 2-core machine (PyAV encoding 20-30 frames): medium 109, veryfast 64 bytes/px; with LEAN_X26X 16. Lean
# costs compression (no lookahead, so no macroblock tree; no B-frames) and speed (one thread: 1.7 fps at
# 8K), which only frames that big need, and their network runs at 0.15 fps anyway.
ENCODER_BYTES_PER_PX = {"ultrafast": 50, "superfast": 60, "veryfast": 64, "faster": 80, "fast": 90, "medium": 109}
ENCODER_BYTES_DEFAULT = 150           # slower presets and other encoders
LEAN_X26X = (("rc-lookahead", "0"), ("threads", "1"), ("bf", "0"))
LEAN_BYTES_PER_PX = 16
TILE_STEP = 64                        # automatic tile sizes are multiples of this
MIN_TILE = 128


@dataclass(frozen=True)
class MemoryPlan:
    tile: int | None            # Deblurrer(tile=...): None for whole frames
    queue_size: int             # frames between two stages
    estimate_mb: float
    note: str = ""              # what was decided, for the log ("" when nothing had to change)
    encode_options: tuple[tuple[str, str], ...] = ()    # added to the encoder's (the user's own win)


def _step_bytes(backend) -> float:
    scale = getattr(backend, "width", 16) / 16      # feature channels at full resolution (small: 16)
    return STEP_BYTES_PER_PX.get(backend.precision, 290) * scale


def encoder_bytes(enc, lean: bool = False) -> float:
    """Bytes per output pixel the encoder holds."""
    from .sinks.encode import check_encode

    if enc.codec not in ("libx264", "libx265"):
        return ENCODER_BYTES_DEFAULT
    opts = check_encode(enc)
    if lean and not any(k in opts for k, _ in LEAN_X26X):
        return LEAN_BYTES_PER_PX
    return ENCODER_BYTES_PER_PX.get(opts.get("preset", ""), ENCODER_BYTES_DEFAULT)


def estimate_mb(h: int, w: int, step_px: int, queue_size: int, step_bytes: float, window: int,
                tiled: bool, compare: bool = False, encoder: float = ENCODER_BYTES_DEFAULT) -> float:
    px = h * w
    frames = px * (2 * queue_size * QUEUE_FRAME_BYTES_PER_PX + IN_FLIGHT_BYTES_PER_PX
                   + encoder * (2 if compare else 1))
    if tiled:   # a uint8 ring of K frames, the assembled output frame and its copy
        frames += px * (window * 3 + 6)
    return FIXED_MB + (frames + step_px * step_bytes) / 2 ** 20


def plan_memory(h: int, w: int, backend, cfg) -> MemoryPlan:
    """Tile size, queue depth and encoder options for h x w frames within cfg.max_memory_mb (None: no
    limit). In order, while the estimate is above the budget: fewer frames queued, a leaner x264/x265
    (a short lookahead, two threads, one B-frame; unless the user set those), then tiles."""
    step = _step_bytes(backend)
    k = backend.window
    compare = getattr(cfg, "compare", False)
    queue, budget = cfg.queue_size, cfg.max_memory_mb
    enc = encoder_bytes(cfg.encode)

    def est(step_px: int, tiled: bool) -> float:
        return estimate_mb(h, w, step_px, queue, step, k, tiled, compare, enc)

    if cfg.tile is not None:
        return MemoryPlan(cfg.tile, queue, est(_tile_px(cfg.tile, backend.margin), True))
    whole = est(h * w, False)
    if budget is None or whole <= budget:
        return MemoryPlan(None, queue, whole)
    first, changes, options = whole, [], ()
    queue = 1
    changes.append(f"{queue} frame between stages")
    lean = encoder_bytes(cfg.encode, lean=True)
    if lean < enc:
        enc, options = lean, LEAN_X26X
        changes.append("x264 without lookahead or B-frames, one thread")
    whole = est(h * w, False)
    if whole <= budget:
        return MemoryPlan(None, queue, whole, f"memory: {w}x{h} frames: {', '.join(changes)} to stay within --max-memory "
                          f"{budget} MB (estimated peak {whole:.0f} MB)", options)
    margin = backend.margin
    room = budget - est(0, True)
    side = math.sqrt(room * 2 ** 20 / step) if room > 0 else 0
    tile = max(MIN_TILE, int((side - 2 * margin) // TILE_STEP) * TILE_STEP)
    peak = est(_tile_px(tile, margin), True)
    note = (f"memory: {w}x{h} frames would need about {first:.0f} MB: tiles of up to {tile} px (+{margin} px context on "
            f"each side), {', '.join(changes)}; estimated peak {peak:.0f} MB (--max-memory {budget}; --tile N "
            f"to choose)")
    if peak > budget:
        note += "; still above the budget with the smallest useful tiles"
    return MemoryPlan(tile, queue, peak, note, options)


def _tile_px(tile: int, margin: int) -> int:
    return (tile + 2 * margin) ** 2
