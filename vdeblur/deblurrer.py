"""The model-step stage: RGB frames in, deblurred RGB frames out, recurrent state carried across calls.

preprocess (uint8 HWC -> float CHW, reflect-pad to the stride) -> ring buffer -> backend.step(window,
state) -> postprocess (crop, clamp, uint8 HWC).

Arrays are numpy on the CPU (no torch on the ONNX Runtime / OpenVINO path) and torch tensors on a GPU
(imported only there), as the backend contract says (backends/base.py).
"""
from __future__ import annotations

import functools
import time
from typing import Iterable, Iterator

import cv2
import numpy as np

from .geometry import FrameGeometry, TileGrid
from .ring import FrameRing, on_gpu
from .scenecut import SceneCutDetector

_SCALE = np.float32(1 / 255)


@functools.lru_cache(maxsize=16)
def _pad_sources(h: int, w: int, ph: int, pw: int) -> tuple[list[int], list[int]]:
    """(columns, rows) that fill the padding of an h x w frame in a ph x pw slot, as F.pad would: reflect,
    or replicate where the frame is too small to reflect. Computed once per geometry, not per frame."""
    reflect = pw - w < w and ph - h < h
    cols = list(range(w - 2, w - 2 - (pw - w), -1)) if reflect else [w - 1] * (pw - w)
    rows = list(range(h - 2, h - 2 - (ph - h), -1)) if reflect else [h - 1] * (ph - h)
    return cols, rows


def _pad_in_place(slot, h: int, w: int) -> None:
    """Fill slot[:, h:, :] and slot[:, :, w:] of a (C, PH, PW) array (numpy or torch) from the frame's own
    border (_pad_sources)."""
    ph, pw = slot.shape[1:]
    cols, rows = _pad_sources(h, w, ph, pw)
    if cols:
        slot[:, :h, w:] = slot[:, :h, cols]
    if rows:
        slot[:, h:, :] = slot[:, rows, :]


def _to_float_chw(dst, hwc) -> None:
    """dst (3, h, w) float32 view <- hwc (h, w, 3) uint8 / 255, in place (numpy, or torch on a GPU)."""
    if isinstance(dst, np.ndarray):
        np.multiply(hwc.transpose(2, 0, 1), _SCALE, out=dst)
    else:
        dst.copy_(hwc.permute(2, 0, 1))
        dst.mul_(1 / 255)


def to_uint8_hwc(chw):
    """(3, H, W) float in [0, 1] (out-of-range values allowed) -> new (H, W, 3) uint8, rounded and
    saturated: a numpy array for a numpy input, a torch tensor on the input's device for a torch input."""
    if isinstance(chw, np.ndarray):
        # OpenCV saturates and rounds in one SIMD pass per plane: a quarter of the time of the numpy chain
        # on a 2-core CPU, where every millisecond outside inference costs pipeline throughput.
        planes = chw.astype(np.float32, copy=False)
        return cv2.merge([cv2.multiply(p, 255.0, dtype=cv2.CV_8U) for p in planes])
    import torch

    return chw.clamp(0, 1).mul(255).round_().to(torch.uint8).permute(1, 2, 0)


class Deblurrer:
    """Stateful frame-by-frame deblurring with any backend (see vdeblur.backends).

    process(rgb) takes (H, W, 3) uint8 and returns (H, W, 3) uint8. The state resets by itself when the
    frame size changes, at a scene cut (unless scene_cut is False), and on reset().

    tile: run frames as overlapping tiles of at most this many px (cores), each tile with its own recurrent
    state carried frame to frame (a state slot in the backend), each read with backend.margin px of
    context and cropped back to its core (geometry.TileGrid). The window is then kept as uint8 (a quarter
    of the float ring's memory) and converted tile by tile. None: whole frames.

    first_slot: several Deblurrers on one backend (ensemble.py) each need their own state slots.
    """

    def __init__(self, backend, timer=None, owns_backend: bool = True,
                 scene_cut: bool = True, tile: int | None = None, first_slot: int = 0):
        self.backend = backend
        self.first_slot = first_slot    # the backend's state slots this uses: first_slot (+ tile index)
        self.owns_backend = owns_backend
        self.timer = timer          # optional StageTimes with preprocess/inference/postprocess
        self.cuts = SceneCutDetector() if scene_cut else None
        self.scene_cuts = 0
        self.tile = tile
        self.grid: TileGrid | None = None
        self._size: tuple[int, int] | None = None
        self.ring: FrameRing | None = None
        self.state = None           # whole frames: the state; tiles: a list, one state per tile

    def _setup(self, h: int, w: int) -> None:
        self._size = (h, w)
        stride = self.backend.stride
        if self.tile is not None:
            grid = TileGrid(h, w, self.tile, self.backend.margin, stride)
            if len(grid.tiles) > 1:
                self._setup_tiles(grid)
                return
        self.grid = None
        self.geometry = FrameGeometry(h, w, stride)
        self._padded = ph, pw = self.geometry.padded
        self.ring = FrameRing(self.backend.window, (3, ph, pw), device=self.backend.device)
        self._cuda = on_gpu(self.backend.device)
        if self._cuda:
            import torch

            # Frames cross the bus as uint8 (a quarter of float32) from page-locked staging buffers, so the
            # copies are asynchronous on the current stream, the one the backend runs on.
            self._pin_in = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=True)
            self._dev_in = torch.empty((h, w, 3), dtype=torch.uint8, device=self.backend.device)
            self._pin_out = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=True)
        self.state = self.backend.init_state(ph, pw, slot=self.first_slot)

    def _setup_tiles(self, grid: TileGrid) -> None:
        h, w = self._size
        self.grid = grid
        self.geometry = FrameGeometry(*grid.window_size, self.backend.stride)     # one tile's padding
        self._padded = ph, pw = self.geometry.padded
        device = self.backend.device
        self.ring = FrameRing(self.backend.window, (h, w, 3), device=device, dtype="uint8", contiguous=False)
        self._cuda = on_gpu(device)
        if self._cuda:
            import torch

            self._pin_in = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=True)
            self._pin_out = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=True)
            self._out = torch.empty((h, w, 3), dtype=torch.uint8, device=device)
            self._tile_window = torch.empty((1, self.backend.window, 3, ph, pw), device=device)
        else:
            self._out = np.empty((h, w, 3), dtype=np.uint8)
            self._tile_window = np.empty((1, self.backend.window, 3, ph, pw), dtype=np.float32)
        self.state = [self.backend.init_state(ph, pw, slot=self.first_slot + i) for i in range(len(grid.tiles))]

    def _forget(self) -> None:
        """Empty the window and zero the state."""
        if self._size is None:
            return
        self.ring.clear()
        if self.grid is None:
            self.state = self.backend.init_state(*self._padded, slot=self.first_slot)
        else:
            self.state = [self.backend.init_state(*self._padded, slot=self.first_slot + i)
                          for i in range(len(self.state))]

    def reset(self) -> None:
        """Forget the past (reconnect, a cut the caller knows of), including the last frame seen."""
        self._forget()
        if self.cuts is not None:
            self.cuts.reset()

    def _tick(self, stage: str, t0: float) -> float:
        t1 = time.perf_counter()
        if self.timer is not None:
            self.timer.add(stage, (t1 - t0) * 1e3)
        return t1

    def process(self, rgb: np.ndarray, signature=None) -> np.ndarray:
        """signature: SceneCutDetector.signature(rgb) if the caller already computed it (elsewhere)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
        h, w = rgb.shape[:2]
        if self._size != (h, w):
            self._setup(h, w)
        t0 = time.perf_counter()
        if self.cuts is not None and self.cuts.is_cut(rgb, signature):
            self._forget()      # the detector keeps this frame: the next one is compared with it
            self.scene_cuts += 1
        if self.grid is not None:
            return self._process_tiles(rgb, t0)
        # Convert straight into the ring slot (uint8 HWC -> float CHW in [0, 1]) and reflect-pad in place:
        # no per-frame allocation on this path.
        slot = self.ring.slot_for_next()
        ph, pw = self._padded
        body = slot[:, :h, :w]
        if self._cuda:
            np.copyto(self._pin_in.numpy(), rgb)
            self._dev_in.copy_(self._pin_in, non_blocking=True)
            _to_float_chw(body, self._dev_in)
        else:
            _to_float_chw(body, rgb)
        _pad_in_place(slot, h, w)
        self.ring.commit()
        t0 = self._tick("preprocess", t0)
        out, self.state = self.backend.step(self.ring.window()[None], self.state)
        if self._cuda:
            self._sync()
        t0 = self._tick("inference", t0)
        if self._cuda:
            self._pin_out.copy_(to_uint8_hwc(self.geometry.crop(out[0])), non_blocking=True)
            self._sync()
            result = self._pin_out.numpy().copy()
        else:
            result = to_uint8_hwc(self.geometry.crop(out[0]))
        self._tick("postprocess", t0)
        return result

    def _process_tiles(self, rgb: np.ndarray, t0: float) -> np.ndarray:
        times = dict.fromkeys(("preprocess", "inference", "postprocess"), 0.0)
        if self._cuda:
            np.copyto(self._pin_in.numpy(), rgb)
            self.ring.push(self._pin_in.to(self.backend.device, non_blocking=True))
        else:
            self.ring.push(rgb)
        frames = self.ring.frames()                 # K x (H, W, 3) uint8, oldest first
        win = self._tile_window[0]                  # (K, 3, ph, pw) float
        for i, t in enumerate(self.grid.tiles):
            th, tw = t.y1 - t.y0, t.x1 - t.x0
            for k, frame in enumerate(frames):
                _to_float_chw(win[k, :, :th, :tw], frame[t.y0:t.y1, t.x0:t.x1])
            for k in range(win.shape[0]):
                _pad_in_place(win[k], th, tw)
            t1 = time.perf_counter()
            times["preprocess"] += t1 - t0
            out, self.state[i] = self.backend.step(self._tile_window, self.state[i])
            t0 = time.perf_counter()
            times["inference"] += t0 - t1
            core = out[0, :, t.cy0 - t.y0:t.cy1 - t.y0, t.cx0 - t.x0:t.cx1 - t.x0]
            self._out[t.cy0:t.cy1, t.cx0:t.cx1] = to_uint8_hwc(core)
            t1 = time.perf_counter()
            times["postprocess"] += t1 - t0
            t0 = t1
        if self._cuda:
            self._pin_out.copy_(self._out, non_blocking=True)
            self._sync()
            result = self._pin_out.numpy().copy()
        else:
            result = self._out.copy()
        times["postprocess"] += time.perf_counter() - t0
        if self.timer is not None:
            for stage, seconds in times.items():
                self.timer.add(stage, seconds * 1e3)
        return result

    @staticmethod
    def _sync() -> None:
        import torch

        torch.cuda.current_stream().synchronize()

    def __call__(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for rgb in frames:
            yield self.process(rgb)

    def close(self) -> None:
        if self.owns_backend:
            self.backend.close()
