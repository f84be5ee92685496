"""Image-sequence input: frames/%06d.png (tif, jpg, bmp), timed by vdeblur's timestamps.csv or --fps."""
from __future__ import annotations

import pytest

av = pytest.importorskip("av")

from clips import make_clip, seconds  # noqa: E402
from vdeblur.cli import main  # noqa: E402


def _run(*args) -> int:
    return main(["run", *map(str, args), "--quiet"])


def test_a_sequence_round_trip_keeps_every_pts(tmp_path, tiny_weights):
    src = tmp_path / "vfr.mkv"
    make_clip(src, frames=9, width=64, height=48, vfr=True, audio=False)
    pattern = tmp_path / "seq" / "%06d.png"
    assert _run(src, "-o", pattern, "--model", tiny_weights) == 0
    back = tmp_path / "back.mkv"
    assert _run(pattern, "-o", back, "--model", tiny_weights) == 0
    assert seconds(back) == pytest.approx(seconds(src), abs=1e-3)


def test_fps_times_a_bare_sequence_and_a_missing_one_exits_2(tmp_path, tiny_weights, capsys):
    src = tmp_path / "in.mp4"
    make_clip(src, frames=6, width=64, height=48, audio=False)
    pattern = tmp_path / "seq" / "img_%03d.jpg"
    assert _run(src, "-o", pattern, "--model", tiny_weights) == 0
    (tmp_path / "seq" / "timestamps.csv").unlink()
    out = tmp_path / "o.mp4"
    assert _run(pattern, "-o", out, "--model", tiny_weights, "--fps", "50") == 0
    got = seconds(out)
    assert len(got) == 6 and got[1] - got[0] == pytest.approx(0.02, abs=1e-3)
    assert _run(tmp_path / "none" / "%04d.png", "-o", tmp_path / "x.mp4", "--model", tiny_weights) == 2
    assert "no images match" in capsys.readouterr().err


def test_a_sequence_never_overwrites_itself(tmp_path, tiny_weights, capsys):
    src = tmp_path / "in.mp4"
    make_clip(src, frames=3, width=64, height=48, audio=False)
    pattern = tmp_path / "seq" / "%04d.png"
    assert _run(src, "-o", pattern, "--model", tiny_weights) == 0
    before = (tmp_path / "seq" / "0001.png").read_bytes()
    assert _run(tmp_path / "seq" / "./%04d.png", "-o", pattern, "--model", tiny_weights, "-y") == 2
    assert "is the input" in capsys.readouterr().err
    assert (tmp_path / "seq" / "0001.png").read_bytes() == before
