"""The user-facing tools end to end on tiny data: synthesize clips from photos, then evaluate a network."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from clips import make_photos

ROOT = Path(__file__).resolve().parents[2]


def test_synthesize_then_evaluate(tmp_path, tiny_weights):
    photos = make_photos(tmp_path / "photos", 3, size=(320, 240))
    clips = tmp_path / "clips"
    subprocess.run([sys.executable, str(ROOT / "tools/synthesize.py"), "photos", str(photos), "--split", "all",
                    "--clips", "2", "--frames", "5", "--width", "160", "--height", "96", "--max-blur", "20",
                    "--no-halt", "--seed", "1", "-o", str(clips)], check=True, capture_output=True, timeout=300)
    out = tmp_path / "eval"
    r = subprocess.run([sys.executable, str(ROOT / "tools/evaluate.py"), str(clips), "--model", str(tiny_weights),
                        "--json", str(out / "e.json"), "--table", str(out / "e.md"), "--png", str(out / "e.png")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "e.json").read_text())
    assert summary["clips"] == 2
    for key in ("input_psnr", "output_psnr", "reset_psnr", "unsharp_psnr", "wiener_psnr", "wiener_ssim",
                "flicker_output"):
        assert np.isfinite(summary["mean"][key])
    assert "Wiener PSNR" in (out / "e.md").read_text()
    assert cv2.imread(str(out / "e.png")).shape[:2] == (2 * 96, 4 * 160)   # blurred | Wiener | network | truth
