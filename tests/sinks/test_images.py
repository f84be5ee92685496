"""The image-sequence sink: one image per frame, timestamps kept, nothing at the destination until done."""
from __future__ import annotations

import cv2
import pytest

from clips import make_clip, video_pts

from vdeblur import deblur_file
from vdeblur.errors import OutputError
from vdeblur.sinks import check_output


def test_every_frame_becomes_an_image_with_its_timestamp(tmp_path, tiny_weights):
    inp = tmp_path / "in.mp4"
    make_clip(inp, frames=7, width=96, height=64, vfr=True, audio=True)
    out = tmp_path / "frames" / "%04d.png"
    s = deblur_file(inp, out, model=str(tiny_weights), backend="torch", device="cpu")
    assert s["frames_out"] == s["frames_in"] == 7
    names = sorted(p.name for p in (tmp_path / "frames").glob("*.png"))
    assert names == [f"{i:04d}.png" for i in range(1, 8)]
    assert cv2.imread(str(tmp_path / "frames" / "0001.png")).shape == (64, 96, 3)
    rows = (tmp_path / "frames" / "timestamps.csv").read_text().splitlines()
    assert rows[0] == "frame,pts,seconds"
    assert [int(r.split(",")[1]) for r in rows[1:]] == video_pts(inp)          # VFR timing survives
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no hidden leftovers


def test_image_sequence_destinations_are_checked(tmp_path, tiny_weights):
    inp = tmp_path / "in.mp4"
    make_clip(inp, frames=2, width=64, height=48, audio=False)
    with pytest.raises(OutputError, match="exactly one %d"):
        check_output(str(inp), str(tmp_path / "f" / "%04d_%04d.png"), False)
    with pytest.raises(OutputError, match="does not exist"):
        check_output(str(inp), str(tmp_path / "no" / "such" / "%04d.png"), False)
    deblur_file(inp, tmp_path / "f" / "%04d.png", model=str(tiny_weights), backend="torch", device="cpu")
    with pytest.raises(OutputError, match="use -y"):
        check_output(str(inp), str(tmp_path / "f" / "%04d.png"), False)
    assert check_output(str(inp), str(tmp_path / "f" / "%04d.png"), True).kind.name == "images"
    assert check_output(str(inp), str(tmp_path / "o.mp4"), False).kind.name == "video"
