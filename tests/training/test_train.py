"""A few iterations of the real training loop on a tiny network and tiny photos; resume; export."""
import json

from clips import make_photos

from vdeblur.model.loading import load_model
from vdeblur.training.train import TrainConfig, train


def test_train_resume_and_load(tmp_path):
    photos = make_photos(tmp_path / "photos", 6, name="urban100_img_{i:03d}.jpg")
    out = tmp_path / "run"
    tc = TrainConfig(preset="tiny", out=out, photos=photos, iters=4, batch=2, crop=32, seq=3, bank=3, refresh=1,
                     val_every=2, warmup=2, device="cpu", val_clips=2, val_frames=3, val_size=(32, 48))
    r = train(tc)
    assert r["iteration"] == 4
    assert (out / "last" / "optim.safetensors").exists() and (out / "train.log").exists()
    r2 = train(TrainConfig(**{**tc.__dict__, "iters": 6}))
    assert r2["iteration"] == 6
    assert "resumed" in (out / "train.log").read_text()
    net, _ = load_model(str(out / "last" / "model.safetensors"))
    assert net.config.window == 2
    assert json.loads((out / "last" / "state.json").read_text())["iteration"] == 6
