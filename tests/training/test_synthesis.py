from dataclasses import replace

import numpy as np
import torch

from vdeblur.training.synthesis import ClipRenderer, SynthConfig, add_noise, codec_proxy, linear_to_srgb, srgb_to_linear


def photo(h=200, w=300, mode="nearest"):
    g = torch.Generator().manual_seed(0)
    base = torch.rand(3, h // 10, w // 10, generator=g)
    return torch.nn.functional.interpolate(base[None], size=(h, w), mode=mode)[0]


def test_srgb_roundtrip():
    x = torch.linspace(0, 1, 101)
    assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5)


def test_clip_shapes_blur_and_static():
    cfg = SynthConfig(height=64, width=96, frames=4, max_blur=30, static_prob=0.0, halt_prob=0.0)
    r = ClipRenderer(cfg, torch.Generator().manual_seed(1), photo(), [photo()])
    b, s = r.clip()
    assert b.shape == s.shape == (4, 3, 64, 96)
    assert 0 <= b.min() and b.max() <= 1
    assert (b - s).abs().mean() > 1e-3          # moving camera: blurred differs from sharp
    f_b, f_s = r.frame(2)
    assert torch.allclose(f_b, b[2], atol=1e-5) and torch.allclose(f_s, s[2], atol=1e-5)
    static = ClipRenderer(replace(cfg, static_prob=1.0), torch.Generator().manual_seed(1), photo(), [photo()])
    b, s = static.clip()
    assert torch.allclose(b, s, atol=1e-4)       # no motion: no blur


def test_noise_and_codec_proxy_stay_close():
    img = photo(64, 96, "bilinear")[None].clamp(0, 1)
    cfg = SynthConfig()
    noisy = add_noise(img, torch.Generator().manual_seed(0), cfg)
    assert torch.all((noisy * 255 - (noisy * 255).round()).abs() < 1e-3)   # quantised to 8 bits
    coded = codec_proxy(noisy, torch.tensor([3.0]))
    mse = ((coded - noisy) ** 2).mean().item()
    assert 10 * np.log10(1 / mse) > 28
