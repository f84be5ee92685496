"""Explain: the blur estimator ranks clips by their true blur, the explain video is frame for frame with the
output, and the summary and the report carry the per-frame figures."""
from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from clips import make_clip

from vdeblur import deblur_file
from vdeblur.cli import main
from vdeblur.explain import WEIGHTS, BlurEstimator, Explainer, spearman
from vdeblur.training.clips import read_video

CALIBRATION = Path(__file__).resolve().parents[1] / "vdeblur" / "model" / "calibration"

needs_head = pytest.mark.skipif(not WEIGHTS.exists(), reason="no trained blur estimator shipped")


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 2], [5, 5, 9]) == pytest.approx(1.0)


@needs_head
def test_blur_estimate_ranks_clips_and_is_near_zero_on_still_video():
    """Clips with known blur (the shipped calibration clips, rendered from training photos, and a still clip
    made of one frame repeated): the estimate ranks them as their true mean blur does."""
    meta = json.loads((CALIBRATION / "meta.json").read_text())
    est = BlurEstimator()
    truth, guess = [], []
    for name, m in meta.items():
        frames = read_video(CALIBRATION / name)
        truth.append(float(np.mean(m["blur_px"][1:])))
        guess.append(float(np.mean(est.sequence(frames)[1:])))
    still = read_video(CALIBRATION / "train4.mp4")[:1].repeat(8, axis=0)   # the least blurred clip's frame
    still_est = float(np.mean(est.sequence(still)[1:]))
    truth.append(0.0)
    guess.append(still_est)
    assert spearman(truth, guess) >= 0.8, (truth, guess)
    assert still_est < 1.5


@needs_head
def test_explain_video_matches_the_output_frame_for_frame(tmp_path, tiny_weights):
    inp, out, view, js = tmp_path / "in.mp4", tmp_path / "out.mp4", tmp_path / "explain.mp4", tmp_path / "s.json"
    make_clip(inp, frames=10, width=160, height=96)
    summary = deblur_file(str(inp), str(out), model=str(tiny_weights), backend="torch", device="cpu",
                          explain_path=str(view), json_path=str(js))

    def pts(path):
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            return [f.pts for f in c.decode(s)], (s.codec_context.width, s.codec_context.height)

    (p_out, size_out), (p_view, size_view) = pts(out), pts(view)
    assert p_out == p_view and len(p_out) == 10
    assert size_view == (2 * size_out[0], 2 * size_out[1])
    frames = summary["explain"]["frames"]
    assert len(frames) == 10 and all(f["blur_px"] >= 0 and f["correction"] >= 0 for f in frames)
    assert json.loads(js.read_text())["explain"]["frames"][3]["pts"] == p_out[3]
    # The report, from the summary alone (it reads the crops back from the input and output files).
    png = tmp_path / "report.png"
    assert main(["explain", str(js), "-o", str(png)]) == 0
    assert png.stat().st_size > 10_000


def test_explain_needs_its_own_file(tmp_path, tiny_weights, clip):
    out = tmp_path / "o.mp4"
    assert main(["run", str(clip), "-o", str(out), "--model", str(tiny_weights), "--explain", str(out)]) == 2
    assert not out.exists()


def test_explain_of_a_summary_without_frames_is_one_line(tmp_path, capsys):
    js = tmp_path / "s.json"
    js.write_text(json.dumps({"frames_out": 3}))
    assert main(["explain", str(js), "-o", str(tmp_path / "r.png")]) == 2
    assert "no per-frame explain data" in capsys.readouterr().err


def test_explain_view_layout():
    class Fixed(BlurEstimator):
        def __init__(self):
            self._prev = None

        def step(self, rgb):
            return 7.5, np.full((rgb.shape[0] // 16 + 1, rgb.shape[1] // 16 + 1), 7.5, np.float32)

    ex = Explainer(estimator=Fixed())
    a = np.zeros((90, 160, 3), np.uint8)
    b = a.copy()
    b[:, :80] = 20
    view = ex.frame(a, b, 0, 0.0)
    assert view.shape == (180, 320, 3)
    assert ex.frames[0]["correction"] == pytest.approx(10.0, abs=0.1)     # half the frame moved by 20 levels
    assert np.array_equal(view[40:90, 160:], b[40:])                      # labels are drawn at the top only
    ex.reset(cut=True)
    assert ex.summary()["scene_cuts"] == [1]


def test_explain_refuses_what_is_not_a_run_summary(tmp_path, capsys):
    from vdeblur.cli import main

    js = tmp_path / "list.json"
    js.write_text("[1, 2]")
    assert main(["explain", str(js), "-o", str(tmp_path / "r.png")]) == 2
    assert "not a vdeblur run summary" in capsys.readouterr().err
    assert main(["explain", str(js), "-o", str(js)]) == 2      # the report would replace its own summary


def test_a_report_uses_the_frames_kept_during_the_run(tmp_path, monkeypatch, tiny_weights):
    """Live inputs cannot be reopened: the report's crops come from frames the run kept (#25)."""
    from clips import make_clip

    from vdeblur import deblur_file, figures

    monkeypatch.setattr(figures, "_frames_at", lambda *a, **k: pytest.fail("the report reopened a file"))
    inp = tmp_path / "in.mp4"
    make_clip(inp, frames=8, width=96, height=64, audio=False)
    deblur_file(str(inp), str(tmp_path / "o.mp4"), model=str(tiny_weights), report_path=str(tmp_path / "r.png"),
                overwrite=True)
    assert (tmp_path / "r.png").stat().st_size > 0
