"""Show what the network did: per-frame blur strength and correction, the explain view, and the report.

Per frame (`Explainer.frame`):
  blur_px     estimated motion-blur length in px of the frame (model/blurhead.py, trained on synthetic clips
              whose true blur is known; validated in its card, vdeblur/model/weights/blurhead.json)
  correction  mean |output - input| of the luma, in 8-bit levels
The explain view is a 2 x 2 grid, frame-synchronous with the output (same count, same pts):
  input | output
  correction heat map (|output - input| luma, 0..CORRECTION_SCALE levels) | blur map (per region, 0..BLUR_SCALE px)
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from .model.blurhead import ANALYSIS_WIDTH, UNIT_PX, BlurHead

WEIGHTS = Path(__file__).parent / "model" / "weights" / "blurhead.safetensors"
CORRECTION_SCALE = 32.0     # 8-bit levels at the top of the heat map's colour scale
BLUR_SCALE = 40.0           # px at the top of the blur map's colour scale


def spearman(a, b) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(x):
        x = np.asarray(x, np.float64)
        order = np.argsort(x, kind="mergesort")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for v in np.unique(x):           # ties share their mean rank
            m = x == v
            r[m] = r[m].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def load_head(path: Path | None = None) -> BlurHead:
    from safetensors.torch import load_file

    from .errors import ModelError

    path = path or WEIGHTS
    head = BlurHead()
    try:
        head.load_state_dict(load_file(str(path)))
    except Exception as e:  # noqa: BLE001 - a missing or damaged file: one clear error
        raise ModelError(f"cannot load the blur estimator {path}: {e}") from None
    return head.eval()


class BlurEstimator:
    """Blur length per frame (px of the frame) from the frame and the one before it."""

    def __init__(self, head: BlurHead | None = None):
        self.head = head if head is not None else load_head()
        self._prev: torch.Tensor | None = None

    def reset(self) -> None:
        self._prev = None

    @staticmethod
    def _luma(rgb: np.ndarray) -> torch.Tensor:
        h, w = rgb.shape[:2]
        ah = max(16, round(ANALYSIS_WIDTH * h / w / 16) * 16)
        small = cv2.resize(rgb, (ANALYSIS_WIDTH, ah), interpolation=cv2.INTER_AREA)
        y = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
        return torch.from_numpy(y)[None, None]

    @torch.no_grad()
    def step(self, rgb: np.ndarray) -> tuple[float, np.ndarray]:
        """(H, W, 3) uint8 -> (blur px, per-region blur map (h/16, w/16) in px of the frame). The first frame
        after a reset is compared with itself (no motion seen: its estimate leans low)."""
        cur = self._luma(rgb)
        prev = self._prev if self._prev is not None and self._prev.shape == cur.shape else cur
        self._prev = cur
        m = self.head(prev, cur)[0, 0]
        px = torch.expm1(m) * UNIT_PX * rgb.shape[1] / ANALYSIS_WIDTH
        # The frame's value is the map's mean in the network's own units, as it was trained.
        frame = float(torch.expm1(m.mean()) * UNIT_PX * rgb.shape[1] / ANALYSIS_WIDTH)
        return frame, px.numpy()

    def sequence(self, frames) -> list[float]:
        self.reset()
        return [self.step(np.ascontiguousarray(f))[0] for f in frames]


def _legend(panel: np.ndarray, title: str, top: float, unit: str) -> None:
    """A colour bar with its scale along the bottom of a panel (drawn in place)."""
    h, w = panel.shape[:2]
    bar_h = max(6, h // 40)
    x0, x1 = w // 20, w - w // 20
    ramp = np.linspace(0, 255, max(2, x1 - x0)).astype(np.uint8)[None].repeat(bar_h, 0)
    colours = cv2.cvtColor(cv2.applyColorMap(ramp, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
    y1 = h - max(4, h // 30)
    y0 = y1 - bar_h
    if y0 < 0 or x1 - x0 < 2:
        return
    panel[y0:y1, x0:x1] = colours
    scale = max(0.3, min(h, w) / 700)
    thick = max(1, int(scale * 2))
    cv2.putText(panel, f"{title}  0", (x0, max(10, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                thick, cv2.LINE_AA)
    label = f"{top:g} {unit}"
    (tw, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.putText(panel, label, (max(x0, x1 - tw), max(10, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), thick, cv2.LINE_AA)


def _label(panel: np.ndarray, text: str) -> None:
    scale = max(0.3, min(panel.shape[:2]) / 600)
    cv2.putText(panel, text, (8, int(24 * scale) + 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                max(1, int(scale * 2)), cv2.LINE_AA)


def _heat(values: np.ndarray, top: float) -> np.ndarray:
    u8 = np.clip(values / top * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(u8, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


class Explainer:
    """Per-frame blur strength and correction; the explain view when `view` is set."""

    def __init__(self, view: bool = True, estimator: BlurEstimator | None = None):
        self.view = view
        self.blur = estimator if estimator is not None else BlurEstimator()
        self.frames: list[dict] = []
        self.scene_cuts: list[int] = []
        self._best: list[tuple[float, int, np.ndarray, np.ndarray]] = []    # min-heap of the most corrected
        self.keep = 5

    def reset(self, cut: bool = False) -> None:
        """A scene cut or a reconnect: the next frame's predecessor is not its past."""
        self.blur.reset()
        if cut:
            self.scene_cuts.append(len(self.frames))

    def frame(self, rgb_in: np.ndarray, rgb_out: np.ndarray, pts: int | None, time_s: float | None) -> np.ndarray | None:
        """Record one frame; return its explain view (2H, 2W, 3) uint8, or None without a view."""
        blur_px, blur_map = self.blur.step(rgb_in)
        y_in = cv2.cvtColor(rgb_in, cv2.COLOR_RGB2GRAY).astype(np.float32)
        y_out = cv2.cvtColor(rgb_out, cv2.COLOR_RGB2GRAY).astype(np.float32)
        diff = np.abs(y_out - y_in)
        self.frames.append({"index": len(self.frames), "pts": pts, "time_s": time_s, "blur_px": round(blur_px, 3),
                            "correction": round(float(diff.mean()), 4)})
        self._remember(self.frames[-1]["correction"], len(self.frames) - 1, rgb_in, rgb_out)
        if not self.view:
            return None
        h, w = rgb_in.shape[:2]
        heat = _heat(diff, CORRECTION_SCALE)
        regions = cv2.resize(blur_map.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
        blur = cv2.addWeighted(_heat(regions, BLUR_SCALE), 0.7, (rgb_in * 0.3).astype(np.uint8), 1.0, 0)
        panels = [rgb_in.copy(), rgb_out.copy(), heat, blur]
        for p, name in zip(panels, ("input", "output", "correction |out - in|",
                                    f"blur estimate: {blur_px:.1f} px")):
            _label(p, name)
        _legend(panels[2], "correction", CORRECTION_SCALE, "levels")
        _legend(panels[3], "blur", BLUR_SCALE, "px")
        return np.concatenate([np.concatenate(panels[:2], 1), np.concatenate(panels[2:], 1)], 0)

    def _remember(self, correction: float, index: int, rgb_in: np.ndarray, rgb_out: np.ndarray) -> None:
        """Keep the `keep` most corrected frames as they were, so a report never reopens the input (a live
        source would give other frames, or none)."""
        import heapq

        key = (correction, -index)
        if len(self._best) >= self.keep and key <= self._best[0][:2]:
            return          # not among the most corrected: no copy (this runs on every frame)
        item = (*key, rgb_in.copy(), rgb_out.copy())
        if len(self._best) < self.keep:
            heapq.heappush(self._best, item)
        else:
            heapq.heapreplace(self._best, item)

    @property
    def kept(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """{frame index: (input, output)} of the most corrected frames."""
        return {-neg: (a, b) for _, neg, a, b in self._best}

    def summary(self) -> dict:
        blur = [f["blur_px"] for f in self.frames]
        corr = [f["correction"] for f in self.frames]
        return {"frames": self.frames, "scene_cuts": self.scene_cuts,
                "blur_px_mean": float(np.mean(blur)) if blur else 0.0,
                "correction_mean": float(np.mean(corr)) if corr else 0.0,
                "estimator": "vdeblur/model/blurhead.py (card: vdeblur/model/weights/blurhead.json)"}
