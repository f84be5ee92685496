"""Scene cuts reset the recurrent state; camera shake and blur within a scene do not."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from vdeblur.backends.torch_backend import TorchBackend
from vdeblur.deblurrer import Deblurrer
from vdeblur.model.loading import load_model
from vdeblur.scenecut import SceneCutDetector


def scene(seed: int, n: int, h=96, w=160, tint=(1.0, 1.0, 1.0)):
    """n frames of one scene: a textured picture under camera shake, some frames motion-blurred."""
    rng = np.random.default_rng(seed)
    big = cv2.resize(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8), (w + 40, h + 40),
                     interpolation=cv2.INTER_CUBIC).astype(np.float32) * np.float32(tint)
    big = np.clip(big, 0, 255).astype(np.uint8)
    frames = []
    for i in range(n):
        dx, dy = rng.integers(0, 40, 2)
        f = big[dy:dy + h, dx:dx + w]
        if i % 2:
            f = cv2.blur(f, (15, 1))
        frames.append(np.ascontiguousarray(f))
    return frames


def test_detector_separates_shake_from_cuts():
    d = SceneCutDetector()
    a, b = scene(1, 6, tint=(0.6, 0.8, 1.2)), scene(2, 6, tint=(1.3, 0.7, 0.5))
    assert not any(d.is_cut(f) for f in a)
    assert d.is_cut(b[0])
    assert not any(d.is_cut(f) for f in b[1:])


def test_state_resets_at_a_cut(tiny_weights):
    net, _ = load_model(str(tiny_weights))
    a, b = scene(1, 5, tint=(0.6, 0.8, 1.2)), scene(2, 5, tint=(1.3, 0.7, 0.5))
    d = Deblurrer(TorchBackend(net, torch.device("cpu")))
    outs = [d.process(f) for f in a + b]
    assert d.scene_cuts == 1
    fresh = Deblurrer(TorchBackend(net, torch.device("cpu")))
    for got, want in zip(outs[5:], (fresh.process(f) for f in b)):
        assert np.array_equal(got, want)     # after the cut the past scene has no influence
    # With detection off, the state from scene a leaks into scene b.
    off = Deblurrer(TorchBackend(net, torch.device("cpu")), scene_cut=False)
    leak = [off.process(f) for f in a + b]
    assert off.scene_cuts == 0
    assert any(not np.array_equal(x, y) for x, y in zip(leak[5:], outs[5:]))


def test_pipeline_reports_scene_cuts(tmp_path, tiny_weights):
    import av

    from vdeblur.config import ModelConfig, RunConfig
    from vdeblur.pipeline import run_file

    frames = scene(1, 6, tint=(0.6, 0.8, 1.2)) + scene(2, 6, tint=(1.3, 0.7, 0.5))
    inp = tmp_path / "two_scenes.mp4"
    with av.open(str(inp), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        s.options = {"qp": "0"}   # lossless: the detector sees the frames above (its margin here is 0.04)
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode())
    summary = run_file(RunConfig(input=str(inp), output=str(tmp_path / "out.mp4"),
                                 model=ModelConfig(spec=str(tiny_weights)), progress=False))
    assert summary["frames_out"] == 12 and summary["scene_cuts"] == 1
