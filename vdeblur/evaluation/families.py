"""Validation families that differ in how the blur is made and in what is blurred, so that a gain on them
predicts a gain on footage the training never saw. Every family draws on pictures the training never uses:
the photos held out by name (training.data.split_photos) and scikit-image's sample images (reserved for
evaluation), never the training photos. numpy and OpenCV only: independent of the training simulator,
except the `simulator` family, which is that simulator on held-out photos.

    simulator   the training simulator (camera shake, moving objects, sub-frames averaged in linear light)
    averaging   frames rendered at 8-15x the video rate over a layered scene (camera and parallax layers
                moving), N consecutive ones averaged in linear light, the middle one the target: how public
                video deblurring benchmarks were built
    kernels     convolution with random camera-trajectory kernels, uniform or varying over the frame
    near_sharp  a still or barely shaking camera, short exposures, sensor noise: the network must leave it
    unseen      content the training never saw: text and graphics, test patterns, low light, texture
                (foliage, gravel), stars, cells; blurred by averaging

Each clip is (blurred, sharp): (T, H, W, 3) uint8 sRGB; blur_px: the path length per exposure (px).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FAMILIES = ("simulator", "averaging", "kernels", "near_sharp", "unseen")


@dataclass
class Clip:
    blurred: np.ndarray
    sharp: np.ndarray
    blur_px: list[float]
    meta: dict


def to_linear(u8: np.ndarray) -> np.ndarray:
    x = u8.astype(np.float32) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def to_srgb(lin: np.ndarray) -> np.ndarray:
    x = np.clip(lin, 0.0, 1.0)
    s = np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.clip(np.rint(s * 255.0), 0, 255).astype(np.uint8)


def eval_images() -> dict[str, np.ndarray]:
    """scikit-image's bundled samples (RGB uint8) and procedural content: text, graphics, test patterns."""
    from skimage import data

    out = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
                 "stereo_motorcycle", "colorwheel", "camera", "text", "page", "brick", "grass", "gravel",
                 "clock", "coins", "moon"):
        img = getattr(data, name)()
        img = img[0] if isinstance(img, tuple) else img
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        out[name] = np.ascontiguousarray(img[..., :3])
    out["text_graphics"] = _text_card()
    out["test_pattern"] = _test_pattern()
    return out


def _text_card(h: int = 480, w: int = 720, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 235, np.uint8)
    for k in range(14):
        colour = tuple(int(c) for c in rng.integers(0, 160, 3))
        cv2.putText(img, f"Motion 0{k} vdeblur ABC xyz 1234", (10, 30 + 32 * k), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5 + 0.35 * rng.random(), colour, 1 + int(rng.integers(0, 2)), cv2.LINE_AA)
    for _ in range(6):
        p = rng.integers(0, [w, h], 2)
        cv2.rectangle(img, tuple(int(v) for v in p), tuple(int(v) for v in p + rng.integers(20, 90, 2)),
                      tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    return img


def _test_pattern(h: int = 480, w: int = 720) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    bars = [(235, 235, 235), (235, 235, 16), (16, 235, 235), (16, 235, 16), (235, 16, 235), (235, 16, 16),
            (16, 16, 235), (16, 16, 16)]
    for i, c in enumerate(bars):
        img[: h // 2, i * w // 8:(i + 1) * w // 8] = c
    y, x = np.mgrid[0:h - h // 2, 0:w].astype(np.float32)
    r2 = (x - w / 2) ** 2 + (y - (h - h // 2) / 2) ** 2
    img[h // 2:] = (127.5 + 110 * np.cos(r2 * np.pi / 900.0))[..., None].astype(np.uint8)    # a zone plate
    return img


def _fit(img: np.ndarray, h: int, w: int, margin: float) -> np.ndarray:
    """Scale so an (h, w) frame with `margin` of room on each side fits (never below the frame)."""
    need = max(h * (1 + 2 * margin) / img.shape[0], w * (1 + 2 * margin) / img.shape[1])
    if need > 1:
        img = cv2.resize(img, None, fx=need, fy=need, interpolation=cv2.INTER_CUBIC)
    return img


def _path(rng: np.random.Generator, n: int, length: float) -> np.ndarray:
    """(n, 2) a smooth random 2-D camera path whose total length over n samples is about `length`."""
    t = np.linspace(0.0, 1.0, n)
    angle = rng.uniform(0, 2 * np.pi)
    bend = rng.uniform(-1.5, 1.5)
    theta = angle + bend * t + 0.3 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * t + rng.uniform()))
    step = np.stack([np.cos(theta), np.sin(theta)], 1)
    pos = np.cumsum(step, 0)
    pos -= pos[0]
    span = np.sum(np.linalg.norm(np.diff(pos, axis=0), axis=1)) or 1.0
    return pos * (length / span)


def _warp(img: np.ndarray, dx: float, dy: float, angle: float, h: int, w: int, cx: float, cy: float) -> np.ndarray:
    m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    m[:, 2] += (w / 2 - cx + dx, h / 2 - cy + dy)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def averaging_clip(rng: np.random.Generator, background: np.ndarray, layers: list[np.ndarray], *, frames: int,
                   h: int, w: int, blur_px: tuple[float, float] = (2.0, 25.0), noise: float = 0.004,
                   dark: float = 1.0) -> Clip:
    """Sharp frames at R = 8..15 per video frame (a camera moving over the background, layers moving over it
    with their own velocity: parallax and moving objects), the R of each exposure averaged in linear light;
    the target is the middle one of those R. dark: exposure scale (low light), noise: read noise (linear)."""
    rate = int(rng.integers(8, 16))
    per_frame = rng.uniform(*blur_px)                 # camera path length during one exposure, px
    cam = _path(rng, frames * rate + 1, per_frame * frames * rng.uniform(0.9, 1.1))
    spin = rng.uniform(-0.15, 0.15)                    # degrees per sub-frame
    bg = to_linear(_fit(background, h, w, 0.08 + per_frame * frames / max(h, w)))
    cy, cx = bg.shape[0] / 2, bg.shape[1] / 2
    objs = []
    for img in layers:
        size = int(rng.integers(min(h, w) // 5, min(h, w) // 2))
        patch = to_linear(cv2.resize(_crop(rng, img, size, size), (size, size), interpolation=cv2.INTER_AREA))
        mask = np.zeros((size, size), np.float32)
        cv2.ellipse(mask, (size // 2, size // 2), (size // 2 - 2, int(size * rng.uniform(0.25, 0.48))),
                    rng.uniform(0, 180), 0, 360, 1.0, -1, cv2.LINE_AA)
        start = rng.uniform([0, 0], [w - size, h - size])
        vel = rng.normal(0, per_frame / rate * 1.2, 2)
        objs.append((patch, cv2.GaussianBlur(mask, (0, 0), 1.0)[..., None], start, vel))
    blurred, sharp, lengths = [], [], []
    for f in range(frames):
        acc = np.zeros((h, w, 3), np.float32)
        mid = None
        for s in range(rate):
            k = f * rate + s
            frame = _warp(bg, -cam[k, 0], -cam[k, 1], spin * k, h, w, cx, cy)
            for patch, mask, start, vel in objs:
                x, y = start + vel * k
                m = np.float32([[1, 0, x], [0, 1, y]])
                layer = cv2.warpAffine(patch, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                alpha = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_CONSTANT)[..., None]
                frame = frame * (1 - alpha) + layer * alpha
            acc += frame
            if s == rate // 2:
                mid = frame
        avg = acc / rate * dark
        avg = avg + rng.normal(0, noise, avg.shape).astype(np.float32) * np.sqrt(np.maximum(avg, 1e-4) + 0.01)
        blurred.append(to_srgb(avg))
        sharp.append(to_srgb(mid * dark))
        lengths.append(float(np.sum(np.linalg.norm(np.diff(cam[f * rate:(f + 1) * rate + 1], axis=0), axis=1))))
    return Clip(np.stack(blurred), np.stack(sharp), lengths, {"rate": rate, "layers": len(layers)})


def _crop(rng: np.random.Generator, img: np.ndarray, h: int, w: int) -> np.ndarray:
    img = _fit(img, h, w, 0.0)
    y = int(rng.integers(0, img.shape[0] - h + 1))
    x = int(rng.integers(0, img.shape[1] - w + 1))
    return img[y:y + h, x:x + w]


def trajectory_kernel(rng: np.random.Generator, length: float, size: int = 65) -> np.ndarray:
    """A camera-shake PSF: a random walk with inertia and occasional jerks (after Boracchi and Foi 2012),
    `length` px long, splatted into a (size, size) kernel that sums to 1."""
    n = 200
    v = rng.normal(0, 1, 2)
    v /= np.linalg.norm(v)
    pts = [np.zeros(2)]
    for _ in range(n - 1):
        v = 0.9 * v + rng.normal(0, 0.35, 2) + (rng.normal(0, 2.0, 2) if rng.random() < 0.02 else 0)
        v /= np.linalg.norm(v) + 1e-9
        pts.append(pts[-1] + v)
    pts = np.array(pts)
    span = np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1))
    pts = (pts - pts.mean(0)) * (length / span)
    return splat(np.clip(pts + size // 2, 0, size - 1.001), size)


def splat(points: np.ndarray, size: int) -> np.ndarray:
    """A (size, size) float32 kernel from (n, 2) sub-pixel (x, y) points, each spread bilinearly over its
    four neighbours, normalised to sum 1 (points at most size - 1 - eps)."""
    k = np.zeros((size, size), np.float32)
    for x, y in points:
        x0, y0 = int(x), int(y)
        fx, fy = x - x0, y - y0
        k[y0, x0] += (1 - fx) * (1 - fy)
        k[y0, x0 + 1] += fx * (1 - fy)
        k[y0 + 1, x0] += (1 - fx) * fy
        k[y0 + 1, x0 + 1] += fx * fy
    return k / k.sum()


def kernels_clip(rng: np.random.Generator, image: np.ndarray, *, frames: int, h: int, w: int,
                 varying: bool, blur_px: tuple[float, float] = (3.0, 25.0), noise: float = 0.003) -> Clip:
    """A slowly panning view of `image`, each frame convolved (linear light) with its own trajectory
    kernel; varying: four kernels blended by smooth weights over the frame (a rotating camera)."""
    pan = rng.uniform(-2, 2, 2)
    src = to_linear(_fit(image, h, w, 0.05 + 2.5 * frames / max(h, w)))
    cy, cx = src.shape[0] / 2, src.shape[1] / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    weights = [(1 - xx / w) * (1 - yy / h), (xx / w) * (1 - yy / h), (1 - xx / w) * (yy / h), (xx / w) * (yy / h)]
    blurred, sharp, lengths = [], [], []
    for f in range(frames):
        frame = _warp(src, pan[0] * f, pan[1] * f, 0.0, h, w, cx, cy)
        n = 4 if varying else 1
        ls = rng.uniform(*blur_px, n)
        ks = [trajectory_kernel(rng, float(length)) for length in ls]
        outs = [cv2.filter2D(frame, -1, k, borderType=cv2.BORDER_REFLECT_101) for k in ks]
        out = sum(o * wt[..., None] for o, wt in zip(outs, weights)) if varying else outs[0]
        out = out + rng.normal(0, noise, out.shape).astype(np.float32)
        blurred.append(to_srgb(out))
        sharp.append(to_srgb(frame))
        lengths.append(float(np.mean(ls)))
    return Clip(np.stack(blurred), np.stack(sharp), lengths, {"varying": varying})


def near_sharp_clip(rng: np.random.Generator, image: np.ndarray, *, frames: int, h: int, w: int,
                    dark: float = 1.0) -> Clip:
    """A still or barely shaking camera under a short exposure: at most ~1.5 px of motion per exposure,
    sensor noise (shot and read, linear light, before the tone curve). The target is the clean frame.
    dark: exposure scale (low light)."""
    shake = rng.uniform(0.0, 1.5)
    gain = rng.uniform(0.5, 1.0)          # a short exposure: less light, then amplified (more noise)
    src = to_linear(_fit(image, h, w, 0.05)) * dark
    cy, cx = src.shape[0] / 2, src.shape[1] / 2
    cam = _path(rng, frames * 4 + 1, shake * frames) if shake > 0 else np.zeros((frames * 4 + 1, 2))
    blurred, sharp, lengths = [], [], []
    for f in range(frames):
        subs = [_warp(src, cam[f * 4 + s, 0], cam[f * 4 + s, 1], 0.0, h, w, cx, cy) for s in range(4)]
        avg = sum(subs) / 4
        sigma = np.sqrt(np.maximum(avg, 0) * 0.0004 / gain + (0.002 / gain) ** 2)
        blurred.append(to_srgb(avg + rng.normal(0, 1, avg.shape).astype(np.float32) * sigma))
        sharp.append(to_srgb(subs[2]))
        lengths.append(float(np.sum(np.linalg.norm(np.diff(cam[f * 4:f * 4 + 5], axis=0), axis=1))))
    return Clip(np.stack(blurred), np.stack(sharp), lengths, {"shake_px": round(shake, 2), "gain": round(gain, 2)})

