"""Exact YUV <-> RGB (vdeblur.colour): against a float reference, round trips, and a whole run through an
identity network that must come back unshifted."""
from __future__ import annotations

import pytest

av = pytest.importorskip("av")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from vdeblur import deblur_file  # noqa: E402
from vdeblur.colour import ColourSpec, frame_to_rgb, rgb_to_frame  # noqa: E402
from vdeblur.model.loading import save_weights  # noqa: E402
from vdeblur.model.net import PRESETS, DeblurNet  # noqa: E402


def smooth_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful picture (H, W, 3) uint8, inside the limited-range gamut."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) * 190 + 30, 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.mark.parametrize("pix_fmt", ["yuv444p", "yuv420p"])
def test_decode_matches_the_exact_bt601_formula(pix_fmt):
    """Against H.273's limited-range BT.601 in float64 (chroma flat in 4:2:0, so siting does not enter):
    within rounding, and unbiased."""
    rng = np.random.default_rng(1)
    y = rng.integers(16, 236, (32, 48)).astype(np.uint8)
    frame = av.VideoFrame(48, 32, pix_fmt)
    for plane, value in zip(frame.planes, (y, 110, 150)):
        np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width] = value
    frame.colorspace, frame.color_range = 6, 1
    yf, cb, cr = (y - 16.0) / 219, (110 - 128.0) / 224, (150 - 128.0) / 224
    r = yf + 1.402 * cr
    b = yf + 1.772 * cb
    g = (yf - 0.299 * r - 0.114 * b) / 0.587
    want = np.clip(np.stack([r, g, b], -1) * 255, 0, 255)
    got = frame_to_rgb(frame).astype(np.float64)
    assert np.abs(got - want).max() <= 0.5 + 1e-3        # rounded to nearest, nothing more
    assert np.abs((got - want).mean(axis=(0, 1))).max() < 0.05
    if pix_fmt == "yuv420p":   # swscale's default path, which vdeblur.colour replaces, is biased here
        assert np.abs((frame.to_ndarray(format="rgb24") - want).mean(axis=(0, 1))).max() > 0.5


@pytest.mark.parametrize("pix_fmt,colorspace,color_range", [
    ("yuv420p", None, None), ("yuv420p", 1, 1), ("yuv420p", 5, 2), ("yuvj420p", None, 2), ("nv12", 6, 1),
    ("yuv422p", 1, 1), ("yuv444p", 9, 1), ("yuv420p10le", 1, 1), ("p010le", 9, 2), ("yuv444p10le", 5, 1),
])
def test_yuv_rgb_yuv_round_trip_is_unshifted(pix_fmt, colorspace, color_range):
    """A YUV frame, to RGB and back, and to RGB again: what a pipeline with an untouched frame does."""
    rgb0 = smooth_rgb(96, 128)
    spec = ColourSpec.of(colorspace, color_range, pix_fmt, 96)
    first = frame_to_rgb(rgb_to_frame(rgb0, pix_fmt, spec))
    again = frame_to_rgb(rgb_to_frame(first, pix_fmt, spec))
    assert psnr(first, again) >= 55
    assert np.abs((again.astype(float) - first).mean(axis=(0, 1))).max() <= 0.02


def test_odd_sizes_and_fallback_formats_convert():
    rgb0 = smooth_rgb(35, 51)
    spec = ColourSpec.of(None, None, "yuv420p", 35)
    odd = rgb_to_frame(rgb0, "yuv420p", spec)     # odd: staged through 4:4:4 and swscale (no matrix there)
    assert (odd.width, odd.height, odd.format.name) == (51, 35, "yuv420p")
    assert frame_to_rgb(odd).shape == (35, 51, 3)
    for fmt in ("yuv411p", "gbrp", "bgr24", "gray"):
        back = frame_to_rgb(rgb_to_frame(smooth_rgb(32, 48), fmt, ColourSpec.of(None, None, fmt, 32)))
        assert back.shape == (32, 48, 3)


@pytest.fixture(scope="module")
def identity_weights(tmp_path_factory):
    """The tiny network with its output head zeroed: output == input, exactly."""
    torch.manual_seed(0)
    net = DeblurNet(PRESETS["tiny"])
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.zero_()
    path = tmp_path_factory.mktemp("identity") / "identity.safetensors"
    save_weights(net, path, {"preset": "tiny", "note": "identity test network"})
    return path


def _clip(path, pix_fmt: str, colour: dict, frames: int = 4, size=(160, 96)) -> None:
    w, h = size
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25, options={"qp": "0", "preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        for k, val in colour.items():
            setattr(s.codec_context, k, val)
        spec = ColourSpec.of(colour.get("colorspace"), colour.get("color_range"), pix_fmt, h)
        for i in range(frames):
            f = rgb_to_frame(np.roll(smooth_rgb(h, w, seed=3), 5 * i, axis=1), pix_fmt, spec)
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [frame_to_rgb(f) for f in c.decode(video=0)]


@pytest.mark.parametrize("name,pix_fmt,colour", [
    ("untagged SD", "yuv420p", {}),
    ("BT.709", "yuv420p", {"colorspace": 1, "color_primaries": 1, "color_trc": 1, "color_range": 1}),
    ("full range", "yuv420p", {"colorspace": 5, "color_range": 2}),
    ("10-bit", "yuv420p10le", {"colorspace": 1, "color_range": 1}),
])
def test_identity_run_at_crf0_comes_back_unshifted(tmp_path, identity_weights, name, pix_fmt, colour):
    inp, out = tmp_path / "in.mkv", tmp_path / "out.mkv"
    _clip(inp, pix_fmt, colour)
    deblur_file(str(inp), str(out), model=str(identity_weights), backend="onnxruntime", precision="fp32",
                crf=0, overwrite=True, scene_cut=False)
    a, b = _decoded(inp), _decoded(out)
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        assert psnr(x, y) >= 50, name
        assert np.abs((y.astype(float) - x).mean(axis=(0, 1))).max() <= 0.1, name
