"""The run summary: what `vdeblur run --json` writes and deblur_file() returns."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .source import mask_url


def peak_rss_mb() -> float | None:
    """The process's peak resident memory so far (MB), where the OS tells."""
    try:
        import resource
    except ImportError:
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)      # macOS counts bytes, Linux KiB


def run_summary(cfg, dest, backend, info, counts: dict, source, deblurrer, live: bool, wall: float, timer,
                received: list[int]) -> dict:
    """Counts, rates and per-stage timing of a finished run; URLs masked."""
    return {
        "input": mask_url(cfg.input),
        "output": mask_url(str(dest)),
        "backend": backend.name,
        "precision": backend.precision.value,
        "model": backend.info.get("preset", cfg.model.spec),
        "tiles": len(deblurrer.grid.tiles) if deblurrer.grid is not None else 1,
        "peak_rss_mb": peak_rss_mb(),
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
