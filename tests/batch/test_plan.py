"""Chunk plans partition the frames exactly, start at keyframes, and warm up before each chunk."""
from __future__ import annotations

import pytest
from clips import make_clip

from vdeblur.batch.plan import output_name, plan_file, scan_pts
from vdeblur.errors import InputError


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    p = tmp_path_factory.mktemp("plan") / "long.mp4"
    make_clip(p, frames=100, width=64, height=48, audio=False)
    return p


def test_chunks_partition_the_frames_at_keyframes(long_clip):
    pts, keys, tb, usable = scan_pts(str(long_clip))
    assert usable and len(pts) == 100
    plan = plan_file(str(long_clip), 1.0, warmup=6)
    assert len(plan.chunks) >= 3 and plan.frames == 100
    assert sum(c.frames for c in plan.chunks) == 100
    first, *rest = plan.chunks
    assert first.start is None and first.warm is None and plan.chunks[-1].end is None
    for prev, c in zip(plan.chunks, rest):
        assert c.start == prev.end                              # no gap, no overlap
        assert c.start in keys                                  # the clip has keyframes often enough
        assert pts.index(c.start) - pts.index(c.warm) == 6      # the warm-up, in frames
    # covered = every pts in exactly one chunk
    owner = [sum((c.start is None or p >= c.start) and (c.end is None or p < c.end) for c in plan.chunks)
             for p in pts]
    assert owner == [1] * 100


def test_short_files_and_no_chunking_give_one_chunk(long_clip):
    assert len(plan_file(str(long_clip), 60.0, 6).chunks) == 1
    assert len(plan_file(str(long_clip), None, 6).chunks) == 1


def test_missing_and_non_video_inputs(tmp_path):
    with pytest.raises(InputError, match="input not found"):
        plan_file(str(tmp_path / "nope.mp4"), 1.0, 4)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(InputError, match="cannot open"):
        plan_file(str(bad), 1.0, 4)


def test_output_names_stay_apart():
    taken: set[str] = set()
    assert output_name("/cam1/0001.mov", ".mp4", taken) == "0001.mp4"
    assert output_name("/cam2/0001.mp4", ".mp4", taken) == "cam2_0001.mp4"
    assert output_name("/x/cam2/0001.mkv", ".mp4", taken) == "cam2_0001_2.mp4"


def test_without_ray_the_error_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    import sys

    from vdeblur.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)       # import ray now raises ImportError
    assert main(["batch", str(tmp_path), "-o", str(tmp_path / "out"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == "vdeblur: error: vdeblur batch needs Ray: pip install 'vdeblur[ray]'"
