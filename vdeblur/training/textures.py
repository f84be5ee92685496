"""Procedural textures for training: fine, regular or granular surfaces (brick and tile walls, woven cloth,
gratings, gravel) at many scales, colours and light levels. The network learned to "sharpen" such texture
when it needs nothing (a clean dark brick wall lost 5 dB); clips of them, still and blurred, teach it to
tell texture from blur. Independent of the evaluation images (vdeblur.evaluation.families): drawn here
from a seed, never from a photo.

    texture(rng, h, w) -> (h, w, 3) uint8 sRGB
"""
from __future__ import annotations

import cv2
import numpy as np

KINDS = ("bricks", "tiles", "weave", "grating", "gravel", "planks")


def _grain(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Band-limited noise in [-1, 1] (h, w) float32: white noise blurred at `scale` px."""
    n = rng.normal(0, 1, (h, w)).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), max(scale, 0.3))
    return n / (np.abs(n).max() + 1e-6)


def _bricks(rng, h, w):
    bh = rng.uniform(5, 28)                        # brick height, px
    bw = bh * rng.uniform(1.8, 3.2)
    mortar = max(1.0, bh * rng.uniform(0.08, 0.2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    row = np.floor(yy / bh)
    shift = np.where(row % 2 == 1, bw * rng.uniform(0.3, 0.7), 0.0)
    col = np.floor((xx + shift) / bw)
    in_y = (yy - row * bh) > mortar
    in_x = ((xx + shift) - col * bw) > mortar
    cell = (row * 7919 + col * 104729) % 997 / 997.0         # a tone per brick
    base = 0.55 + 0.35 * (cell - 0.5) + 0.15 * _grain(rng, h, w, rng.uniform(0.5, 1.5))
    return np.where(in_y & in_x, base, rng.uniform(0.2, 0.9) + 0.05 * _grain(rng, h, w, 0.7))


def _tiles(rng, h, w):
    p = rng.uniform(4, 40)
    line = max(1.0, p * rng.uniform(0.05, 0.15))
    angle = rng.uniform(0, np.pi / 2) if rng.random() < 0.4 else 0.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx * np.cos(angle) + yy * np.sin(angle), -xx * np.sin(angle) + yy * np.cos(angle)
    grout = ((u % p) < line) | ((v % p) < line)
    checker = ((np.floor(u / p) + np.floor(v / p)) % 2) * rng.uniform(0, 0.3)
    return np.where(grout, rng.uniform(0.1, 0.5), 0.6 + checker + 0.05 * _grain(rng, h, w, 1.0))


def _weave(rng, h, w):
    p = rng.uniform(2.5, 12)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.sin(2 * np.pi * xx / p) * np.sign(np.sin(np.pi * yy / p))
    b = np.sin(2 * np.pi * yy / p) * np.sign(np.sin(np.pi * xx / p))
    return 0.5 + 0.25 * (a + b) * rng.uniform(0.4, 1.0) + 0.08 * _grain(rng, h, w, 0.6)


def _grating(rng, h, w):
    period = rng.uniform(2.2, 20)                   # down to near the sampling limit
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    s = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    if rng.random() < 0.5:
        s = np.sign(s)
    return 0.5 + 0.4 * rng.uniform(0.3, 1.0) * s


def _gravel(rng, h, w):
    out = np.zeros((h, w), np.float32)
    for octave in range(4):
        out += _grain(rng, h, w, rng.uniform(0.4, 1.2) * 2 ** octave) / 1.5 ** octave
    return 0.5 + 0.3 * out / (np.abs(out).max() + 1e-6)


def _planks(rng, h, w):
    width = rng.uniform(8, 40)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    board = np.floor(yy / width)
    rings = np.sin(2 * np.pi * (xx / rng.uniform(6, 30) + 0.3 * _grain(rng, h, w, 6.0) + board * 0.37))
    seam = (yy % width) < max(1.0, width * 0.06)
    return np.where(seam, 0.15, 0.5 + 0.18 * rings + 0.1 * _grain(rng, h, w, 0.5))


_MAKERS = {"bricks": _bricks, "tiles": _tiles, "weave": _weave, "grating": _grating, "gravel": _gravel,
           "planks": _planks}


def texture(rng: np.random.Generator, h: int, w: int, kind: str | None = None) -> np.ndarray:
    """(h, w, 3) uint8 sRGB: one procedural texture, grey or tinted, its contrast drawn at random."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    lum = np.clip(_MAKERS[kind](rng, h, w), 0.0, 1.0)
    contrast = rng.uniform(0.4, 1.0)
    lum = 0.5 + (lum - 0.5) * contrast
    tint = np.ones(3) if rng.random() < 0.4 else rng.uniform(0.6, 1.0, 3)
    rgb = lum[..., None] * tint[None, None, :]
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
