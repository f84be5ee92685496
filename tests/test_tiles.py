"""Tiles: the grid covers every pixel once with enough context, each tile carries its own state, and the
tiled output matches the untiled one, with every CPU backend."""
from __future__ import annotations

import numpy as np
import pytest

from vdeblur.backends import open_backend
from vdeblur.backends.base import entry
from vdeblur.config import ModelConfig, Precision
from vdeblur.deblurrer import Deblurrer
from vdeblur.geometry import TileGrid


@pytest.mark.parametrize("h,w,tile,margin", [(1080, 1920, 256, 96), (272, 480, 96, 96), (100, 700, 64, 80),
                                             (4320, 7680, 1024, 96), (50, 60, 256, 96), (37, 901, 100, 8)])
def test_cores_partition_the_frame_with_margin_context(h, w, tile, margin):
    g = TileGrid(h, w, tile, margin)
    cover = np.zeros((h, w), np.int32)
    shapes = set()
    for t in g.tiles:
        assert 0 <= t.y0 <= t.cy0 < t.cy1 <= t.y1 <= h and 0 <= t.x0 <= t.cx0 < t.cx1 <= t.x1 <= w
        # A core is at most `tile` px, unless one window already spans that whole axis (no split needed).
        assert t.cy1 - t.cy0 <= tile or (t.y0, t.y1) == (0, h)
        assert t.cx1 - t.cx0 <= tile or (t.x0, t.x1) == (0, w)
        cover[t.cy0:t.cy1, t.cx0:t.cx1] += 1
        shapes.add((t.y1 - t.y0, t.x1 - t.x0))
        # Every core edge has `margin` px of context, or all the frame has on that side.
        assert t.cy0 - t.y0 >= min(margin, t.cy0) and t.cx0 - t.x0 >= min(margin, t.cx0)
        assert t.y1 - t.cy1 >= min(margin, h - t.cy1) and t.x1 - t.cx1 >= min(margin, w - t.cx1)
    assert (cover == 1).all()
    assert shapes == {g.window_size}            # one shape: one compiled model, one TensorRT profile


def _clip(n: int, h: int, w: int) -> list[np.ndarray]:
    """Moving smooth texture with some shake: content the recurrent state has something to carry about."""
    import cv2

    rng = np.random.default_rng(3)
    base = cv2.resize(rng.integers(0, 255, (h // 8 + 8, w // 8 + 8, 3), dtype=np.uint8), (w + 64, h + 64),
                      interpolation=cv2.INTER_CUBIC)
    return [np.ascontiguousarray(base[(3 * i) % 64:(3 * i) % 64 + h, (5 * i) % 64:(5 * i) % 64 + w]) for i in range(n)]


def psnr(a, b) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


@pytest.mark.parametrize("name", ["torch", "onnxruntime", "openvino"])
def test_tiled_matches_untiled_with_state_carried(name):
    if name != "torch" and not entry(name).available():
        pytest.skip(f"{name} is not installed")
    cfg = ModelConfig(spec="small", backend=name, device="cpu", precision=Precision.FP32)
    frames = _clip(8, 360, 400)
    whole = Deblurrer(open_backend(cfg), scene_cut=False)
    tiled = Deblurrer(open_backend(cfg), scene_cut=False, tile=160)
    reset = Deblurrer(open_backend(cfg), scene_cut=False, tile=160)
    a, b, c = [], [], []
    for f in frames:
        a.append(whole.process(f))
        b.append(tiled.process(f))
        reset.reset()           # the same tiles without their states carried
        c.append(reset.process(f))
    assert len(tiled.grid.tiles) == 9 and len(tiled.state) == 9
    assert psnr(a, b) >= 45.0
    # Each tile's state is really carried (and really its own): dropping it changes the output a lot more.
    assert psnr(a, c) < psnr(a, b) - 3
    for d in (whole, tiled, reset):
        d.close()


def test_tiles_reset_at_a_cut_and_follow_a_size_change():
    cfg = ModelConfig(spec="small", backend="torch", device="cpu", precision=Precision.FP32)
    d = Deblurrer(open_backend(cfg), scene_cut=False, tile=64)
    first = _clip(1, 160, 240)[0]
    out1 = d.process(first)
    d.process(_clip(3, 160, 240)[2])
    d.reset()
    assert np.array_equal(d.process(first), out1)    # every tile's state zeroed, the ring emptied
    small = d.process(first[:40, :48].copy())         # smaller than one tile: whole frames again
    assert small.shape == (40, 48, 3) and d.grid is None
