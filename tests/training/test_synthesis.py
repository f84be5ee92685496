"""Batched blur synthesis: shapes, profiles, static and halted clips, saturating highlights, determinism."""
from dataclasses import replace

import numpy as np
import torch

from vdeblur.training.synthesis import (PROFILES, BlurProfile, PhotoBank, SynthSpec, codec_proxy, linear_to_srgb,
                                        quantise, render, srgb_to_linear)


def photos(n=3, h=200, w=300):
    g = np.random.default_rng(0)
    out = []
    for _ in range(n):
        base = g.integers(0, 255, (h // 10, w // 10, 3), dtype=np.uint8)
        out.append(np.kron(base, np.ones((10, 10, 1), np.uint8)))      # blocks: sharp edges everywhere
    return out


def bank(h=80, w=112):
    return PhotoBank(photos(), h, w, "cpu", per_photo=2).patches


def psnr(a, b):
    return (-10 * torch.log10(((a - b) ** 2).mean(dim=(-3, -2, -1)).clamp(min=1e-10)))


def test_srgb_roundtrip():
    x = torch.linspace(0, 1, 101)
    assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5)


def test_render_shapes_ranges_and_determinism():
    spec = SynthSpec(height=64, width=96, frames=4, profile=replace(PROFILES["heavy"], static_prob=0.0))
    r = render(spec, bank(), torch.Generator().manual_seed(1), 3)
    b, s = r["blurred"], r["sharp"]
    assert b.shape == s.shape == (3, 4, 3, 64, 96)
    assert 0 <= b.min() and b.max() <= 1
    assert torch.allclose(b * 255, (b * 255).round(), atol=1e-3)       # 8-bit steps
    assert r["blur_px"].shape == (3, 4) and (r["blur_px"] > 1).all()
    assert (psnr(b, s) < 40).all()                                      # moving camera: blurred differs
    again = render(spec, bank(), torch.Generator().manual_seed(1), 3)
    assert torch.equal(again["blurred"], b)


def test_static_clips_come_back_unchanged():
    spec = SynthSpec(height=64, width=96, frames=3, profile=PROFILES["sharp"])
    r = render(spec, bank(), torch.Generator().manual_seed(2), 2)
    assert torch.equal(r["blurred"], r["sharp"]) and (r["blur_px"] == 0).all()


def test_heavy_profile_blurs_more_than_mild():
    gen = torch.Generator().manual_seed(3)
    res = {}
    for name in ("mild", "heavy"):
        spec = SynthSpec(height=64, width=96, frames=4, profile=replace(PROFILES[name], halt_prob=0.0))
        r = render(spec, bank(), gen, 8)
        res[name] = (r["blur_px"].mean().item(), psnr(r["blurred"], r["sharp"]).mean().item())
    assert res["heavy"][0] > 2 * res["mild"][0]
    assert res["heavy"][1] < res["mild"][1]


def test_halted_frames_are_sharp():
    prof = BlurProfile(blur_px=(10, 20), tail_prob=0.0, static_prob=0.0, halt_prob=1.0, object_prob=0.0)
    spec = SynthSpec(height=64, width=96, frames=10, profile=prof, noise_read=(0, 0), noise_shot=(0, 0))
    r = render(spec, bank(), torch.Generator().manual_seed(4), 2)
    still = r["blur_px"] < 1e-4
    moving = r["blur_px"] > 5
    assert still.any() and moving.any()
    p = psnr(r["blurred"], r["sharp"])
    assert (p[still] > 40).all() and (p[moving] < 35).all()


def test_highlights_smear_into_saturated_streaks():
    img = np.zeros((120, 160, 3), np.uint8)
    img[58:62, 78:82] = 255                                              # one small light
    prof = BlurProfile(blur_px=(6, 8), tail_prob=0.0, static_prob=0.0, halt_prob=0.0, object_prob=0.0)
    base = SynthSpec(height=64, width=96, frames=3, profile=prof, noise_read=(0, 0), noise_shot=(0, 0),
                     photo_scale=(1, 1), exposure_gain=(1, 1))
    patches = PhotoBank([img], 96, 128, "cpu", zoom=(1, 1)).patches
    counts = {}
    for name, prob in (("boosted", 1.0), ("plain", 0.0)):
        spec = replace(base, highlight_prob=prob, highlight_gain=(8, 8))
        r = render(spec, patches, torch.Generator().manual_seed(5), 1)
        sat = lambda x: (x.amax(2) > 0.99).sum().item()
        counts[name] = (sat(r["blurred"]), sat(r["sharp"]))
    assert counts["boosted"][0] > counts["boosted"][1] > 0    # a saturated streak, longer than the light
    assert counts["plain"][0] < counts["plain"][1]            # without headroom the streak is dim


def test_codec_proxy_stays_close():
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 12), size=(64, 96), mode="bilinear")
    img = quantise(smooth)
    coded = codec_proxy(img, torch.tensor([3.0]))
    assert 10 * np.log10(1 / ((coded - img) ** 2).mean().item()) > 28


def test_near_sharp_profile_adds_short_exposure_nearly_sharp_clips():
    from vdeblur.training.synthesis import sample_motion

    def motion(profile, seed=5, n=600):
        return sample_motion(SynthSpec(frames=8, profile=profile), n, torch.Generator().manual_seed(seed))

    def short_and_gentle(m):       # short exposure, and the shake's peak moves < 12 px within one exposure
        peak = (m.x.peak_speed ** 2 + m.y.peak_speed ** 2).sqrt() * m.duty
        return ((m.duty <= PROFILES["near_sharp"].near_sharp_duty[1] + 1e-6) & (peak < 12)).float().mean()

    train = motion(PROFILES["train"])
    assert short_and_gentle(motion(PROFILES["near_sharp"])) > short_and_gentle(train) + 0.12   # measured 0.42, 0.23
    # A profile that does not ask for them draws nothing extra: its clips are what they were.
    plain = motion(replace(PROFILES["train"], near_sharp_px=(9.0, 9.5)))
    assert torch.equal(plain.duty, train.duty) and torch.equal(plain.x.amp, train.x.amp)
