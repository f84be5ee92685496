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
        assert [st.type for st in src.passthrough] == ["audio"] and src.info.width == 64
        items = src.items()                                   # the "stream" ends twice on the way
        frames = list(itertools.islice((f for f in items if isinstance(f, DecodedFrame)), 15))
    finally:
        src.close()
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


def test_timeline_keeps_one_period_across_jumps():
    from fractions import Fraction

    from vdeblur.live import Timeline

    t = Timeline(Fraction(1, 90000), Fraction(25))
    outs, jumps = [], []
    pts = [1000 + 3600 * i for i in range(10)]            # 25 fps
    pts += [500 + 3600 * i for i in range(10)]             # the publisher restarts: its clock starts over
    pts += [10 ** 9 + 3600 * i for i in range(10)]         # and then leaps forwards by hours
    pts += [None, None]                                    # frames without timestamps
    for p in pts:
        o, j = t.place(p)
        outs.append(o)
        jumps.append(j)
    steps = {b - a for a, b in zip(outs, outs[1:])}
    assert steps == {3600}, steps                           # one frame period everywhere
    assert [i for i, j in enumerate(jumps) if j] == [10, 20]
    t.restart()                                             # a reconnect: continue, not reported as a jump
    assert t.place(42) == (outs[-1] + 3600, False)


def test_backoff_is_capped_after_the_jitter():
    import random

    from vdeblur.live import ReconnectPolicy

    rng = random.Random(0)
    waits = [ReconnectPolicy(cap_s=10.0).delay(a, rng) for a in range(20) for _ in range(20)]
    assert max(waits) <= 10.0 and min(waits) >= 0.25
