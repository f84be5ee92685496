from dataclasses import replace

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
    # `sharp` is small's architecture (and speed) with adversarially fine-tuned weights.
    net, info = load_model("sharp")
    assert net.config == PRESETS["small"] and info["preset"] == "small" and info["name"] == "sharp"
    assert info["evaluation"]["accepted"] is True
    small = load_model("small")[0].state_dict()
    assert any(not torch.equal(v, small[k]) for k, v in net.state_dict().items())


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


def test_training_form_scales_fold_into_the_same_function():
    torch.manual_seed(0)
    net = DeblurNet(PRESETS["tiny"])
    scaled = net.scaled()
    assert scaled.config.res_scale and sum(p.numel() for p in scaled.parameters()) > sum(
        p.numel() for p in net.parameters())
    x = torch.rand(1, 2, 3, 16, 24)
    st = net.init_state(1, 16, 24)
    assert torch.allclose(net(x, *st)[0], scaled(x, *st)[0], atol=1e-6)     # scales of 1: same network
    with torch.no_grad():
        for name, p in scaled.named_parameters():
            if name.endswith(".scale"):
                p.uniform_(0.2, 1.5)
    folded = scaled.folded()
    assert not folded.config.res_scale
    assert set(folded.state_dict()) == set(net.state_dict())                # the shipped layout
    assert torch.allclose(scaled(x, *st)[0], folded(x, *st)[0], atol=1e-5)
    fresh = DeblurNet(replace(PRESETS["tiny"], res_scale=True))
    assert all(not p.any() for n, p in fresh.named_parameters() if n.endswith(".scale"))   # skip-init


@pytest.mark.parametrize("config,words", [({"widths": [8000, 8000, 8000]}, "widths"),
                                          ({"window": 0}, "window"), ({"lstm_layers": 1.5}, "lstm_layers"),
                                          ({"coarse_blocks": 10 ** 9}, "coarse_blocks"), ({"evil": 1}, "unknown")])
def test_a_weights_config_out_of_bounds_is_refused_before_allocation(tmp_path, config, words):
    import json

    from safetensors.torch import save_file

    from vdeblur.errors import ModelError
    from vdeblur.model.loading import load_model

    path = tmp_path / "w.safetensors"
    cfg = {**PRESETS["tiny"].to_dict(), **config}
    save_file({"x": torch.zeros(1)}, str(path), metadata={"vdeblur_config": json.dumps(cfg)})
    with pytest.raises(ModelError, match=words):
        load_model(str(path))
