"""The user-facing tools end to end on tiny data: synthesize validation sets from photos, then evaluate."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from clips import make_photos

ROOT = Path(__file__).resolve().parents[2]


def synthesize(photos: Path, out: Path, profile: str, clips: int) -> None:
    subprocess.run([sys.executable, str(ROOT / "tools/synthesize.py"), "photos", str(photos), "--split", "all",
                    "--clips", str(clips), "--frames", "5", "--width", "160", "--height", "96", "--profile", profile,
                    "--seed", "1", "-o", str(out)], check=True, capture_output=True, timeout=300)


def test_synthesize_then_evaluate(tmp_path, tiny_weights):
    photos = make_photos(tmp_path / "photos", 3, size=(320, 240))
    synthesize(photos, tmp_path / "heavy", "heavy", 2)
    synthesize(photos, tmp_path / "sharp", "sharp", 1)
    meta = json.loads((tmp_path / "heavy" / "clip0000" / "meta.json").read_text())
    assert meta["profile"] == "heavy" and len(meta["blur_px"]) == 5 and meta["crf"] >= 16
    out = tmp_path / "eval"
    r = subprocess.run([sys.executable, str(ROOT / "tools/evaluate.py"), str(tmp_path / "heavy"),
                        str(tmp_path / "sharp"), "--model", str(tiny_weights), "--json", str(out / "e.json"),
                        "--table", str(out / "e.md"), "--png", str(out / "e.png")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "e.json").read_text())
    heavy, sharp = summary["sets"]["heavy"], summary["sets"]["sharp"]
    assert heavy["clips"] == 2 and sharp["clips"] == 1
    for key in ("input_psnr", "output_psnr", "reset_psnr", "unsharp_psnr", "wiener_psnr", "wiener_ssim",
                "flicker_output"):
        assert np.isfinite(heavy["mean"][key])
    assert {"worst_gain_db", "clips_worse", "ssim_up_on_every_clip", "flicker_not_above_input"} <= set(heavy)
    assert len(sharp["static_output_vs_input_psnr"]) == 1 and "static_below_45db" in sharp
    assert "Wiener" in (out / "e.md").read_text()
    assert cv2.imread(str(out / "e.png")).shape[:2] == (2 * 96, 4 * 160)   # blurred | Wiener | network | truth


def test_export_weights_from_a_state_folder(tmp_path):
    import torch

    from vdeblur.model.loading import load_model
    from vdeblur.model.net import PRESETS, DeblurNet
    from vdeblur.training.checkpoint import save_state

    torch.manual_seed(0)
    net = DeblurNet(PRESETS["tiny"]).scaled()
    ema = DeblurNet(PRESETS["tiny"]).scaled()
    with torch.no_grad():
        for p in ema.parameters():
            p.uniform_(0.5, 1.0)
    save_state(tmp_path / "state", net, ema, None, {"step": 7, "trained_s": 3.0, "history": [{"step": 7}]})
    out = tmp_path / "w" / "tiny.safetensors"
    subprocess.run([sys.executable, str(ROOT / "tools/export_weights.py"), str(tmp_path / "state"), "--preset", "tiny",
                    "-o", str(out)], check=True, capture_output=True, timeout=120)
    shipped, info = load_model(str(out))
    assert info["iterations"] == 7 and not shipped.config.res_scale and info["name"] == out.stem
    x = torch.rand(1, 2, 3, 16, 16)
    st = shipped.init_state(1, 16, 16)
    assert torch.allclose(shipped(x, *st)[0], ema(x, *st)[0], atol=1e-5)   # the EMA ships, scales folded
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training_validation"] == {"step": 7}


def test_family_score_is_the_smallest_lead_less_the_harm():
    from vdeblur.training.validate import family_score

    shipped = {"a": {"gain": 1.0, "worst_gain": 0.2}, "b": {"gain": 0.5, "worst_gain": 0.0}, "score": 9.0}
    assert family_score({"a": {"gain": 1.3, "worst_gain": 0.1}, "b": {"gain": 0.6, "worst_gain": 0.0}},
                        shipped) == pytest.approx(0.1)
    # a clip 0.25 dB below its input costs what it falls beyond the 0.05 dB floor
    assert family_score({"a": {"gain": 1.3, "worst_gain": -0.25}, "b": {"gain": 0.6, "worst_gain": 0.0}},
                        shipped) == pytest.approx(0.1 - 0.2)


def test_interpolated_weights_lie_between_the_two(tmp_path):
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    from interpolate_weights import interpolate

    from vdeblur.model.net import DeblurNet, NetConfig

    cfg = NetConfig(window=2, widths=(4, 4, 8))
    a, b = DeblurNet(cfg), DeblurNet(cfg)
    mid = interpolate(a, b, 0.25)
    for k, v in a.state_dict().items():
        if v.is_floating_point():
            assert torch.allclose(mid[k], 0.75 * v + 0.25 * b.state_dict()[k], atol=1e-6)
    with pytest.raises(SystemExit):
        interpolate(a, DeblurNet(NetConfig(window=2, widths=(4, 8, 8))), 0.5)
