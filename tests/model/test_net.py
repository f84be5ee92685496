import pytest
import torch

from vdeblur.errors import ModelError
from vdeblur.model.loading import load_model, save_weights
from vdeblur.model.net import PRESETS, DeblurNet, count_parameters


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_step_shapes_and_state(preset):
    net = DeblurNet(PRESETS[preset]).eval()
    x = torch.rand(2, net.window, 3, 48, 64)
    state = net.init_state(2, 48, 64)
    out, *new = net(x, *state)
    assert out.shape == (2, 3, 48, 64)
    assert [s.shape for s in new] == [s.shape for s in state]
    assert len(new) == len(net.state_names)


def test_untrained_network_starts_near_identity():
    net = DeblurNet(PRESETS["small"]).eval()
    x = torch.rand(1, net.window, 3, 32, 32)
    out, *_ = net(x, *net.init_state(1, 32, 32))
    assert (out - x[:, -1]).abs().mean() < 0.05


def test_presets_sizes():
    assert 0.5e6 <= count_parameters(DeblurNet(PRESETS["small"])) <= 0.8e6
    assert count_parameters(DeblurNet(PRESETS["base"])) > 2e6


def test_shipped_weights_load():
    for preset in ("small", "base"):
        net, info = load_model(preset)
        assert info["preset"] == preset
        assert net.config == PRESETS[preset]


def test_bad_weights_are_refused(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelError, match="bad weights file"):
        load_model(str(bad))
    with pytest.raises(ModelError, match="not found"):
        load_model(str(tmp_path / "missing.safetensors"))
    net = DeblurNet(PRESETS["tiny"])
    p = tmp_path / "tiny.safetensors"
    save_weights(net, p, {})
    loaded, _ = load_model(str(p))
    assert loaded.config == PRESETS["tiny"]
