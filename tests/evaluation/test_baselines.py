"""Classical baselines: the kernel, the motion estimate and the deconvolution do what they claim."""
from __future__ import annotations

import cv2
import numpy as np

from vdeblur.evaluation.baselines import (_linear_to_srgb, _srgb_to_linear, global_motion, line_kernel, wiener,
                                        wiener_clip)


def texture(h=180, w=320, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    return cv2.addWeighted(img, 0.7, rng.integers(0, 256, (h, w, 3), dtype=np.uint8), 0.3, 0)


def psnr(a, b):
    return 10 * np.log10(255 ** 2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_line_kernel_is_normalised_and_oriented():
    k = line_kernel(12.0, 0.0)
    assert abs(k.sum() - 1) < 1e-5
    c = k.shape[0] // 2
    assert k[c].sum() > 0.99                       # horizontal motion stays on the centre row
    assert np.allclose(line_kernel(0.0, 9.0), line_kernel(9.0, 0.0).T, atol=1e-6)


def test_global_motion_finds_a_shift():
    img = texture(240, 320)
    m = np.float32([[1, 0, 6], [0, 1, -4]])
    moved = cv2.warpAffine(img, m, (320, 240), borderMode=cv2.BORDER_REFLECT)
    dx, dy = global_motion(img, moved)
    assert abs(dx - 6) < 1.0 and abs(dy + 4) < 1.0


def test_wiener_with_the_true_kernel_restores_detail():
    rng = np.random.default_rng(0)
    sharp = cv2.resize(rng.integers(0, 256, (15, 26, 3), dtype=np.uint8), (312, 180), interpolation=cv2.INTER_NEAREST)
    psf = line_kernel(15.0, 5.0)
    lin = _srgb_to_linear(sharp.astype(np.float32) / 255)
    blurred = (_linear_to_srgb(cv2.filter2D(lin, -1, psf, borderType=cv2.BORDER_REFLECT)) * 255).round()
    blurred = blurred.astype(np.uint8)
    restored = wiener(blurred, psf, nsr=0.01)
    assert psnr(restored, sharp) > psnr(blurred, sharp) + 2


def test_static_clip_is_left_alone():
    f = texture()
    clip = np.stack([f] * 4)
    assert np.array_equal(wiener_clip(clip), clip)
