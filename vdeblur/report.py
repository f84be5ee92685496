"""The run summary: what `vdeblur run --json` writes and deblur_file() returns."""
from __future__ import annotations

import json
from pathlib import Path

from .source import mask_url


def run_summary(cfg, dest, backend, info, counts: dict, source, deblurrer, live: bool, wall: float, timer,
                received: list[int]) -> dict:
    """Counts, rates and per-stage timing of a finished run; URLs masked."""
    return {
        "input": mask_url(cfg.input),
        "output": mask_url(str(dest)),
        "backend": backend.name,
        "model": backend.info.get("preset", cfg.model.spec),
        "width": info.width,
        "height": info.height,
        "frames_in": counts["decoded"],
        "frames_out": counts["written"],
        "frames_dropped": counts["dropped"],
        "reconnects": getattr(source, "reconnects", 0),
        "scene_cuts": deblurrer.scene_cuts,
        "live": live,
        "decode_errors": source.decode_errors,
        "wall_s": wall,
        "fps": counts["written"] / wall if wall > 0 else 0.0,
        "stages_ms": timer.summary(),
        "interrupted": bool(received),
    }


def write_summary(path: str | None, summary: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(summary, indent=2) + "\n")
