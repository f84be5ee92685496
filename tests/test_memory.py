"""The memory planner: whole frames while they fit, then fewer queued frames, a leaner encoder, then tiles."""
from __future__ import annotations

from types import SimpleNamespace

from vdeblur.config import EncodeConfig, Precision, RunConfig
from vdeblur.memory import LEAN_X26X, plan_memory


class FakeBackend(SimpleNamespace):
    """What the planner reads from a backend: precision, window, margin and the network's widths."""

    def __init__(self):
        super().__init__(precision=Precision.INT8, window=3, margin=96,
                         width=16)


def cfg(**kw) -> RunConfig:
    return RunConfig(input="in.mp4", output="out.mp4", **kw)


def test_small_frames_are_left_alone():
    plan = plan_memory(360, 640, FakeBackend(), cfg())
    assert plan.tile is None and plan.queue_size == 8 and not plan.note and not plan.encode_options


def test_8k_is_tiled_within_the_budget():
    plan = plan_memory(4320, 7680, FakeBackend(), cfg())
    assert plan.tile is not None and plan.tile % 64 == 0
    assert plan.queue_size == 1 and plan.estimate_mb <= 3072
    assert plan.encode_options == LEAN_X26X and "tiles of up to" in plan.note


def test_no_budget_means_whole_frames():
    plan = plan_memory(4320, 7680, FakeBackend(), cfg(max_memory_mb=None))
    assert plan.tile is None and plan.estimate_mb > 8000


def test_an_explicit_tile_wins():
    plan = plan_memory(360, 640, FakeBackend(), cfg(tile=128))
    assert plan.tile == 128 and plan.queue_size == 8


def test_the_users_encoder_options_are_not_overridden():
    enc = EncodeConfig(options=(("threads", "8"),))
    plan = plan_memory(4320, 7680, FakeBackend(), cfg(encode=enc))
    assert plan.encode_options == () and plan.tile is not None


def test_a_bigger_budget_gives_bigger_tiles():
    small = plan_memory(4320, 7680, FakeBackend(), cfg(max_memory_mb=2500))
    big = plan_memory(4320, 7680, FakeBackend(), cfg(max_memory_mb=6000))
    assert small.tile < big.tile
