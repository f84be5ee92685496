"""The guard: a confidence blend toward the input, registered as an architecture, loaded, exported and run."""
from __future__ import annotations

import numpy as np
import torch

from vdeblur.model.guard import Guard, GuardedConfig, GuardedNet
from vdeblur.model.loading import load_model, save_weights
from vdeblur.model.net import PRESETS


def test_the_blend_stays_between_input_and_output():
    g = Guard(4)
    cur, out = torch.rand(2, 3, 24, 40), torch.rand(2, 3, 24, 40)
    a = g.confidence(cur, out)
    assert a.shape == (2, 1, 24, 40) and 0 <= a.min() and a.max() <= 1
    with torch.no_grad():
        g.body[-1].bias.fill_(-30.0)        # no confidence: the input comes back
    assert torch.allclose(g(cur, out), cur, atol=1e-6)


def test_a_guarded_network_saves_loads_and_runs_on_onnx_runtime(tmp_path):
    from vdeblur.backends.exported import exported_step
    from vdeblur.backends.ort_backend import OrtBackend

    torch.manual_seed(0)
    net = GuardedNet(GuardedConfig(PRESETS["tiny"], 4)).eval()
    path = tmp_path / "g.safetensors"
    save_weights(net, path, {"preset": "tiny"}, arch="deblurnet+guard")
    loaded, _ = load_model(str(path))
    assert isinstance(loaded, GuardedNet) and loaded.receptive_radius() > loaded.net.receptive_radius()
    win = torch.rand(1, net.window, 3, 32, 48)
    with torch.no_grad():
        ref = loaded(win, *loaded.init_state(1, 32, 48))[0]
    b = OrtBackend(exported_step(str(path)))
    state = b.init_state(32, 48)
    out, _ = b.step(win.numpy(), state)
    b.close()
    assert np.abs(out - ref.numpy()).max() < 1e-4
