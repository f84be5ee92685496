"""LiveSource without a server: a local file stands in for a stream that ends and comes back. (Its only
keyframe is the first packet: the live options must not throw away what FFmpeg reads while probing.)"""
from __future__ import annotations

import itertools

from clips import make_clip

from vdeblur.live import LiveSource, ReconnectPolicy
from vdeblur.source import DecodedFrame

def test_live_source_reconnects_with_one_increasing_timeline(tmp_path):
    clip = tmp_path / "cam.mp4"
    make_clip(clip, frames=6, width=64, height=48, audio=True)
    src = LiveSource(str(clip), ReconnectPolicy(max_attempts=2, base_s=0.01, cap_s=0.01), seed=0)
    try:
        assert src.passthrough == [] and src.info.width == 64
        frames = list(itertools.islice(src.items(), 15))     # the "stream" ends twice on the way
    finally:
        src.close()
    assert all(isinstance(f, DecodedFrame) for f in frames)
    pts = [f.pts for f in frames]
    assert pts == sorted(set(pts)), pts                       # strictly increasing across reconnects
    assert [f.segment for f in frames] == [0] * 6 + [1] * 6 + [2] * 3
    assert [f.index for f in frames] == list(range(15))
    assert src.reconnects == 2
    # Each segment continues one frame step after the last: no gap, no overlap.
    steps = {b - a for a, b in zip(pts, pts[1:])}
    assert len(steps) == 1


def test_live_source_without_reconnect_ends_at_the_first_outage(tmp_path):
    clip = tmp_path / "cam.mp4"
    make_clip(clip, frames=4, width=64, height=48, audio=False)
    src = LiveSource(str(clip), ReconnectPolicy(max_attempts=0), seed=0)
    try:
        assert len(list(src.items())) == 4 and src.reconnects == 0
    finally:
        src.close()
