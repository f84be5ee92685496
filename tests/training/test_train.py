"""The real training loop on a tiny network and tiny photos: state folder, resume, budget, clip folders."""
import json

import numpy as np
import pytest
import torch
from clips import make_photos

from vdeblur.model.loading import load_model
from vdeblur.model.net import PRESETS, DeblurNet
from vdeblur.training.checkpoint import load_state, save_state
from vdeblur.training.train import TrainConfig, train

TINY = dict(preset="tiny", batch=2, crop=32, seq=3, bank=3, refresh=1, val_every=2, warmup=2, device="cpu",
            val_clips=1, val_frames=3, val_size=(32, 48), log_every=2)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return make_photos(tmp_path_factory.mktemp("photos"), 8, name="urban100_img_{i:03d}.jpg")


def test_train_writes_state_and_resumes(tmp_path, photos):
    state, out = tmp_path / "state", tmp_path / "run"
    tc = TrainConfig(state=state, out=out, photos=photos, iters=4, **TINY)
    meta = train(tc)
    assert meta["step"] == 4
    for name in ("model.safetensors", "ema.safetensors", "optim.safetensors", "state.json"):
        assert (state / name).exists()
    assert (out / "best.safetensors").exists() and (out / "train.log").exists()
    curve = json.loads((out / "curve.json").read_text())
    assert [v["step"] for v in curve] == [0, 2, 4]
    assert {"heavy", "mild", "sharp", "score"} <= set(curve[-1])
    meta2 = train(TrainConfig(**{**tc.__dict__, "iters": 2}))
    assert meta2["step"] == 6 and len(meta2["runs"]) == 2
    assert "resumed" in (out / "train.log").read_text()
    # The state's weights carry residual scales; loading them for inference folds the scales away.
    net, _ = load_model(str(state / "model.safetensors"))
    assert not net.config.res_scale and net.config.window == 2
    best, _ = load_model(str(out / "best.safetensors"))
    assert best.config == PRESETS["tiny"]


def test_state_budget_drops_moments_then_ema(tmp_path):
    torch.manual_seed(0)
    net = DeblurNet(PRESETS["tiny"]).scaled()
    ema = DeblurNet(PRESETS["tiny"]).scaled()
    opt = torch.optim.AdamW(net.parameters())
    x = torch.rand(1, 2, 3, 16, 16)
    net(x, *net.init_state(1, 16, 16))[0].mean().backward()
    opt.step()
    mb = sum(p.numel() for p in net.state_dict().values()) * 4 / 2 ** 20
    kept = save_state(tmp_path / "full", net, ema, opt, {"step": 1}, budget_mb=100)
    assert kept == {"ema": True, "exp_avg": True, "exp_avg_sq": True}
    kept = save_state(tmp_path / "lean", net, ema, opt, {"step": 1}, budget_mb=mb * 1.6)
    assert kept == {"ema": False, "exp_avg": False, "exp_avg_sq": True}
    net2, ema2 = DeblurNet(PRESETS["tiny"]).scaled(), DeblurNet(PRESETS["tiny"]).scaled()
    opt2 = torch.optim.AdamW(net2.parameters())
    meta = load_state(tmp_path / "lean", net2, ema2, opt2, torch.device("cpu"))
    assert meta["step"] == 1
    for a, b, e in zip(net.parameters(), net2.parameters(), ema2.parameters()):
        assert torch.equal(a, b) and torch.equal(b, e)          # EMA re-seeded from the weights
    st = opt2.state[next(iter(net2.parameters()))]
    assert not st["exp_avg"].any() and st["exp_avg_sq"].any()  # first moments restart at zero


def test_init_from_weights_keeps_the_function(tmp_path, photos, tiny_weights):
    tc = TrainConfig(state=tmp_path / "state", out=tmp_path / "run", photos=photos, iters=0,
                     init=str(tiny_weights), **TINY)
    train(tc)
    ref, _ = load_model(str(tiny_weights))
    got, _ = load_model(str(tmp_path / "state" / "model.safetensors"))
    x = torch.rand(1, 2, 3, 16, 16)
    st = ref.init_state(1, 16, 16)
    assert torch.allclose(ref(x, *st)[0], got(x, *st)[0], atol=1e-6)


def test_train_from_clip_folder_validates_and_keeps_best(tmp_path):
    import numpy as np

    from vdeblur.training.clips import save_clip

    rng = np.random.default_rng(0)
    for i in range(4):
        sharp = rng.integers(0, 255, (4, 48, 64, 3), dtype=np.uint8)
        save_clip(tmp_path / "clips" / f"clip{i:04d}", (sharp // 2 + 60).astype(np.uint8), sharp, 18, {"index": i})
    tc = TrainConfig(state=tmp_path / "state", out=tmp_path / "run", data=tmp_path / "clips", iters=2,
                     **{**TINY, "bank": 0})
    meta = train(tc)
    assert meta["step"] == 2 and len(meta["history"]) == 2
    assert "clips" in meta["history"][-1] and (tmp_path / "run" / "best.safetensors").exists()


def test_gan_fine_tune_trains_both_and_resumes(tmp_path, photos, tiny_weights):
    from safetensors.torch import load_file

    state, out = tmp_path / "state", tmp_path / "run"
    tc = TrainConfig(state=state, out=out, photos=photos, iters=3, init=str(tiny_weights), gan=True, **TINY)
    train(tc)
    assert (state / "disc.safetensors").exists() and (state / "disc_optim.safetensors").exists()
    before = load_file(str(state / "disc.safetensors"))
    meta = train(TrainConfig(**{**tc.__dict__, "iters": 2}))
    assert meta["step"] == 5 and "resumed the discriminator" in (out / "train.log").read_text()
    after = load_file(str(state / "disc.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in before)     # the discriminator learned


def test_gan_losses():
    from vdeblur.training.gan import HingeLoss, PatchDiscriminator, TemporalConsistency

    d = PatchDiscriminator()
    assert d(torch.rand(2, 3, 64, 96)).shape == (2, 1, 7, 11)
    real, fake = torch.full((4,), 2.0), torch.full((4,), -2.0)
    assert HingeLoss.discriminator(real, fake).item() == 0.0         # both beyond the margin
    assert HingeLoss.generator(fake).item() == 2.0
    truth = torch.rand(1, 4, 3, 8, 8)
    shifted = truth + 0.3                                             # same changes over time: no flicker
    assert TemporalConsistency()(shifted, truth).item() < 2e-3
    flicker = truth + torch.tensor([0.0, 0.2, 0.0, 0.2]).view(1, 4, 1, 1, 1)
    assert TemporalConsistency()(flicker, truth).item() > 0.1


def test_compile_failing_at_first_step_falls_back_to_eager(tmp_path, photos, monkeypatch):
    """torch.compile raises at the first call (a missing compiler, an unsupported op): the run goes on eagerly."""
    class Broken:                   # like torch's OptimizedModule: the module's attributes, a failing call
        def __init__(self, module):
            self.module = module

        def __getattr__(self, name):
            return getattr(self.module, name)

        def __call__(self, *a, **k):
            raise RuntimeError("no C compiler\nsecond line")

    def broken_compile(module, **kw):
        return Broken(module)
    monkeypatch.setattr(torch, "compile", broken_compile)
    tc = TrainConfig(state=tmp_path / "state", out=tmp_path / "run", photos=photos, iters=3,
                     **{**TINY, "compile": "on"})
    assert train(tc)["step"] == 3
    log = (tmp_path / "run" / "train.log").read_text()
    assert "torch.compile failed at the first step (RuntimeError: no C compiler); training eagerly" in log


def test_no_harm_counts_only_the_db_a_clip_lost():
    from vdeblur.training.losses import NoHarm

    truth = torch.rand(2, 3, 3, 16, 16)
    noise = torch.randn(2, 3, 3, 16, 16) * 0.02
    inp = truth + noise
    better, worse = truth + noise / 2, truth + noise * 2            # 6 dB better, 6 dB worse (+ floor)
    loss = NoHarm(floor=0.0)
    assert loss(better, inp, truth).item() == 0.0
    assert abs(loss(worse, inp, truth).item() - 20 * np.log10(2)) < 1e-3
    # Mixed batch: only the clip that got worse pulls, and it is pulled toward the truth.
    out = torch.stack([better[0], worse[1]]).requires_grad_()
    loss(out, inp, truth).backward()
    assert out.grad[0].abs().max() == 0 and (out.grad[1] * (out - truth)[1].detach()).sum() > 0
    # A static clip (input == truth) costs nothing until its output moves past the floor.
    assert NoHarm()(truth + 1e-4, truth, truth).item() < 0.01                 # 80 dB from the input
    assert NoHarm()(truth + 1e-2, truth, truth).item() > 10                   # 40 dB


def test_no_harm_weight_trains_and_logs_the_term(tmp_path, photos):
    tc = TrainConfig(state=tmp_path / "state", out=tmp_path / "run", photos=photos, iters=2, no_harm_weight=0.02,
                     profile="near_sharp", **TINY)
    assert train(tc)["step"] == 2
    assert " no-harm " in (tmp_path / "run" / "train.log").read_text()
