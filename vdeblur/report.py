"""The run summary: what `vdeblur run --json` writes and deblur_file() returns."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from . import files
from .errors import OutputError
from .urls import mask_url


def model_name(info: dict, spec: str) -> str:
    """The name a summary reports for loaded weights: the shipped name (`sharp` is a `small` network), else
    the architecture preset, else the spec given."""
    return info.get("name") or info.get("preset") or spec


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
        "model": model_name(backend.info, cfg.model.spec),
        "tiles": len(deblurrer.grid.tiles) if deblurrer.grid is not None else 1,
        "peak_rss_mb": peak_rss_mb(),
        "width": info.width,
        "height": info.height,
        "frames_in": counts["decoded"],
        "frames_out": counts["written"],
        "frames_dropped": counts["dropped"],
        "reconnects": source.reconnects,
        "scene_cuts": deblurrer.scene_cuts,
        "quality": cfg.quality,
        "live": live,
        "decode_errors": source.decode_errors,
        "wall_s": wall,
        "fps": counts["written"] / wall if wall > 0 else 0.0,
        "stages_ms": timer.summary(),
        "interrupted": bool(received),
    }


def write_summary(path: str | None, summary: dict) -> None:
    """The summary as JSON at `path` (checked by vdeblur.paths before the run), through a temporary renamed
    into place; `-` writes it to standard output."""
    if not path:
        return
    text = json.dumps(summary, indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomically(Path(path), lambda tmp: tmp.write_text(text))


def write_atomically(final: Path, write) -> None:
    """write(tmp) fills a temporary beside `final`, which then replaces it; on failure `final` is untouched."""
    tmp = files.temp_for(final, final.suffix)
    try:
        write(tmp)
        files.publish(tmp, final, overwrite=True)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise files.disk_error(e, final) or OutputError(f"cannot write {final}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
