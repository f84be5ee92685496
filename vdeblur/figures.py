"""The --report figure: per-frame blur and correction, and crops of the most corrected frames, before and
after (matplotlib, imported here only). The run's JSON summary is report.py's."""
from __future__ import annotations

from pathlib import Path

from .errors import VdeblurError
from .report import write_atomically


def _frames_at(path: str, indices: set[int]) -> dict:
    """Decoded RGB frames of a video at the given indices (in decode order); {} where it cannot be read."""
    import av

    from .colour import frame_to_rgb

    out = {}
    try:
        with av.open(path) as c:
            for i, frame in enumerate(c.decode(video=0)):
                if i in indices:
                    out[i] = frame_to_rgb(frame)
                if i >= max(indices):
                    break
    except Exception:  # noqa: BLE001 - a stream, a moved file: the report goes without those crops
        return {}
    return out


def _crop_pair(a, b, size: int = 192):
    """Crops of a and b around where they differ most (size x size, or the whole frame if smaller)."""
    import cv2
    import numpy as np

    d = cv2.blur(np.abs(a.astype(np.int16) - b.astype(np.int16)).sum(2).astype(np.float32), (31, 31))
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    h, w = d.shape
    s = min(size, h, w)
    y0, x0 = min(max(0, y - s // 2), h - s), min(max(0, x - s // 2), w - s)
    return a[y0:y0 + s, x0:x0 + s], b[y0:y0 + s, x0:x0 + s]


def write_report(summary: dict, path: str | Path, top: int = 5, kept: dict | None = None) -> None:
    """One PNG: estimated blur (px) and mean correction over time with the scene cuts marked, and the
    `top` most corrected frames as input / output crops (where the input and output can be read)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ex = summary.get("explain")
    if not ex or not ex.get("frames"):
        raise VdeblurError("the summary has no per-frame explain data (run with --explain or --report)")
    frames = ex["frames"]
    t = np.array([f["time_s"] if f.get("time_s") is not None else f["index"] for f in frames], float)
    unit = "s" if frames[0].get("time_s") is not None else "frame"
    blur = np.array([f["blur_px"] for f in frames])
    corr = np.array([f["correction"] for f in frames])
    best = sorted(np.argsort(-corr)[:top].tolist())
    if kept is not None:        # frames kept during the run (explain.Explainer.kept): nothing is reopened
        src = {i: kept[i][0] for i in best if i in kept}
        dst = {i: kept[i][1] for i in best if i in kept}
    else:
        src = _frames_at(summary.get("input", ""), set(best)) if best else {}
        dst = _frames_at(summary.get("output", ""), set(best)) if best else {}
    for i in dst:       # a --compare output holds input | output: the output is its right half
        if i in src and dst[i].shape[1] == 2 * src[i].shape[1]:
            dst[i] = dst[i][:, src[i].shape[1]:]
    fig = plt.figure(figsize=(14, 7.5))
    grid = fig.add_gridspec(3, max(len(best), 1), height_ratios=[1.6, 1, 1])
    ax = fig.add_subplot(grid[0, :])
    ax.plot(t, blur, color="tab:red", lw=1.2, label="estimated blur (px)")
    ax.set_ylabel("blur (px)", color="tab:red")
    ax.set_xlabel(f"time ({unit})")
    ax2 = ax.twinx()
    ax2.plot(t, corr, color="tab:blue", lw=1.0, alpha=0.8, label="mean correction |out - in| (levels)")
    ax2.set_ylabel("correction (8-bit levels)", color="tab:blue")
    for i, c in enumerate(ex.get("scene_cuts", [])):
        if c < len(t):
            ax.axvline(t[c], color="grey", ls="--", lw=0.8, label="scene cut" if i == 0 else None)
    for i in best:
        ax2.plot(t[i], corr[i], "o", color="tab:blue", ms=5)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper right", fontsize=8)
    ax.set_title(f"{Path(summary.get('input', '')).name}: blur {ex['blur_px_mean']:.1f} px and correction "
                 f"{ex['correction_mean']:.2f} levels on average; {len(ex.get('scene_cuts', []))} scene cut(s)")
    for col, i in enumerate(best):
        for row, (frames_of, name) in enumerate(((src, "input"), (dst, "output"))):
            a = fig.add_subplot(grid[1 + row, col])
            a.set_xticks([])
            a.set_yticks([])
            if i in src and i in dst:
                crops = _crop_pair(src[i], dst[i])
                a.imshow(crops[row])
            elif i in frames_of:
                a.imshow(frames_of[i])
            else:
                a.text(0.5, 0.5, "not readable", ha="center", va="center")
            a.set_title(f"{name}, frame {i} ({t[i]:.2f} {unit})", fontsize=8)
    fig.tight_layout()
    try:
        write_atomically(Path(path), lambda tmp: fig.savefig(str(tmp), dpi=110, format=Path(path).suffix[1:].lower()))
    finally:
        plt.close(fig)
