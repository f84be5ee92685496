"""Classical baselines the network is judged against: unsharp mask, and Wiener deconvolution with a motion
kernel estimated from the video itself.

The Wiener baseline is blind in the way a user's tool would be: it never sees the ground truth or the
synthesis parameters. Per frame, the global motion comes from DIS optical flow between the neighbouring
blurred frames (median over the frame, half resolution); the blur is assumed to be a straight line along
that motion, as long as the distance travelled during a 180-degree shutter (half the frame interval).
Deconvolution runs per channel in linear light, on a reflect-padded frame so the FFT's wrap-around does not
ring at the borders.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ..training.synthesis import linear_to_srgb, srgb_to_linear
from .families import splat

SHUTTER = 0.5       # exposure as a fraction of the frame interval (the 180-degree rule)
NSR = 0.02          # noise-to-signal power ratio of the Wiener filter (8-bit, compressed input)


def unsharp(img: np.ndarray, sigma: float = 2.0, amount: float = 0.8) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 3) uint8."""
    blur = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    return np.clip(img + amount * (img - blur), 0, 255).round().astype(np.uint8)


def global_motion(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Median displacement (dx, dy) in pixels from RGB uint8 frame a to frame b."""
    ga = cv2.cvtColor(cv2.resize(a, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(cv2.resize(b, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(ga, gb, None)
    return float(np.median(flow[..., 0]) * 2), float(np.median(flow[..., 1]) * 2)


def line_kernel(dx: float, dy: float) -> np.ndarray:
    """Normalised (k, k) float32 PSF of a straight motion (dx, dy) px, centred, sub-pixel (bilinear splats)."""
    length = float(np.hypot(dx, dy))
    k = int(np.ceil(length)) // 2 * 2 + 3
    c = k // 2
    t = np.linspace(-0.5, 0.5, max(2, int(4 * length) + 1))
    return splat(np.stack([c + t * dx, c + t * dy], 1), k)


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return srgb_to_linear(torch.from_numpy(x)).numpy()


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    return linear_to_srgb(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


def _fade(n: int, width: int) -> np.ndarray:
    w = np.ones(n, np.float32)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, width, dtype=np.float32))
    w[:width], w[n - width:] = ramp, ramp[::-1]
    return w


def wiener(img: np.ndarray, psf: np.ndarray, nsr: float = NSR) -> np.ndarray:
    """(H, W, 3) uint8 blurred by psf -> (H, W, 3) uint8 estimate."""
    h, w = img.shape[:2]
    p = psf.shape[0]
    lin = _srgb_to_linear(img.astype(np.float32) / 255)
    # Reflect-pad by two kernel sizes, then fade the outer one to the mean: the FFT sees a periodic image,
    # so the wrap-around step does not ring through the inverse filter into the frame.
    padded = cv2.copyMakeBorder(lin, 2 * p, 2 * p, 2 * p, 2 * p, cv2.BORDER_REFLECT)
    ph, pw = padded.shape[:2]
    mean = padded.mean(axis=(0, 1))
    padded = mean + (padded - mean) * np.outer(_fade(ph, p), _fade(pw, p))[..., None]
    otf_src = np.zeros((ph, pw), np.float32)
    otf_src[:p, :p] = psf
    otf = np.fft.rfft2(np.roll(otf_src, (-(p // 2), -(p // 2)), axis=(0, 1)))
    filt = np.conj(otf) / (np.abs(otf) ** 2 + nsr)
    out = np.empty_like(padded)
    for c in range(3):
        out[..., c] = np.fft.irfft2(np.fft.rfft2(padded[..., c]) * filt, s=(ph, pw))
    res = _linear_to_srgb(out[2 * p:2 * p + h, 2 * p:2 * p + w])
    return (res * 255).round().astype(np.uint8)


def wiener_clip(frames: np.ndarray, shutter: float = SHUTTER, nsr: float = NSR) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, H, W, 3) uint8, each frame deconvolved with its estimated motion kernel."""
    t = len(frames)
    out = []
    for i in range(t):
        a, b = max(0, i - 1), min(t - 1, i + 1)
        if a == b:
            out.append(frames[i].copy())
            continue
        dx, dy = global_motion(frames[a], frames[b])
        dx, dy = dx / (b - a) * shutter, dy / (b - a) * shutter
        out.append(frames[i].copy() if np.hypot(dx, dy) < 1.5 else wiener(frames[i], line_kernel(dx, dy), nsr))
    return np.stack(out)
