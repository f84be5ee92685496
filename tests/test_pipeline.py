"""File mode end to end on small synthetic clips, with a tiny random network."""
from __future__ import annotations

import pytest

pytest.importorskip("av")

import av  # noqa: E402
import numpy as np
import pytest

from vdeblur import Deblurrer, deblur_file
from vdeblur.backends.torch_backend import TorchBackend
from vdeblur.model.loading import load_model

from clips import audio_packets, make_clip, seconds, video_pts


def run(inp, out, weights, **kw):
    return deblur_file(str(inp), str(out), model=str(weights), overwrite=True, **kw)


@pytest.mark.parametrize("backend,tile", [("torch", None), ("onnxruntime", None), ("openvino", None),
                                          ("onnxruntime", 48), ("auto", None)])
def test_frames_pts_audio_and_size_preserved(tmp_path, tiny_weights, backend, tile):
    if backend == "openvino":
        pytest.importorskip("openvino")
    inp = tmp_path / "in.mp4"
    make_clip(inp, frames=14, width=322, height=182)
    out = tmp_path / "out.mp4"
    summary = run(inp, out, tiny_weights, backend=backend, tile=tile)
    assert summary["frames_in"] == summary["frames_out"] == 14
    assert summary["tiles"] == (1 if tile is None else 7)     # tiny: 80 px context, one row of 7
    assert seconds(out) == seconds(inp)
    assert audio_packets(out) == audio_packets(inp) != []
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (322, 182)


def test_vfr_timestamps_survive(tmp_path, tiny_weights):
    inp = tmp_path / "vfr.mkv"
    make_clip(inp, frames=10, vfr=True, audio=False)
    out = tmp_path / "out.mkv"
    run(inp, out, tiny_weights)
    got, want = seconds(out), seconds(inp)
    assert len(got) == len(want) == 10
    assert np.allclose(got, want, atol=1e-3)
    steps = np.diff(want)
    assert steps.min() < steps.max()  # the clip really is VFR


def test_colour_metadata_carried(tmp_path, tiny_weights):
    inp = tmp_path / "709.mp4"
    make_clip(inp, frames=4, audio=False,
              colour={"colorspace": 1, "color_primaries": 1, "color_trc": 1, "color_range": 1})
    out = tmp_path / "out.mp4"
    run(inp, out, tiny_weights)
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (int(cc.colorspace), int(cc.color_primaries), int(cc.color_trc), int(cc.color_range)) == (1, 1, 1, 1)


def test_ten_bit_input_is_converted(tmp_path, tiny_weights, caplog):
    inp = tmp_path / "10bit.mkv"
    make_clip(inp, frames=5, audio=False, pix_fmt="yuv420p10le")
    out = tmp_path / "out.mkv"
    with caplog.at_level("WARNING", logger="vdeblur"):
        summary = run(inp, out, tiny_weights)
    assert summary["frames_out"] == 5
    assert any("10-bit" in r.message for r in caplog.records)


def test_compare_doubles_width(tmp_path, tiny_weights):
    inp = tmp_path / "in.mp4"
    make_clip(inp, frames=3, width=160, height=96, audio=False)
    out = tmp_path / "cmp.mp4"
    run(inp, out, tiny_weights, compare=True)
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.width == 320


def test_deblurrer_iterator_api(tiny_weights):
    net, info = load_model(str(tiny_weights))
    d = Deblurrer(TorchBackend(net, __import__("torch").device("cpu")))
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (37, 51, 3), dtype=np.uint8) for _ in range(5)]
    outs = list(d(iter(frames)))
    assert len(outs) == 5 and all(o.shape == (37, 51, 3) and o.dtype == np.uint8 for o in outs)
    # A size change resets the state instead of failing.
    assert d.process(frames[0][:20, :30].copy()).shape == (20, 30, 3)


def _in_flight(tmp_path, tiny_weights, monkeypatch, queue_size: int) -> int:
    """The most frames decoded but not yet written at any write, with a slow encoder (so an unbounded
    decoder would run ahead by the whole clip)."""
    import time

    from vdeblur import stages
    from vdeblur.config import ModelConfig, RunConfig
    from vdeblur.pipeline import run_file

    seen = []
    real = stages.EncodeStage._write

    def slow_write(self, *a, **k):
        time.sleep(0.01)
        seen.append(self.flow.counts["decoded"] - self.flow.counts["written"])
        return real(self, *a, **k)

    monkeypatch.setattr(stages.EncodeStage, "_write", slow_write)
    inp = tmp_path / f"in{queue_size}.mp4"
    make_clip(inp, frames=30, width=96, height=64, audio=True)
    out = tmp_path / f"out{queue_size}.mp4"
    s = run_file(RunConfig(input=str(inp), output=str(out), model=ModelConfig(spec=str(tiny_weights)),
                           queue_size=queue_size, progress=False))
    assert s["frames_out"] == 30 and video_pts(out) == video_pts(inp)
    return max(seen)


def test_frames_in_flight_stay_bounded_by_the_queues(tmp_path, tiny_weights, monkeypatch):
    """Frames held between decode and encode (the pipeline's frame memory) never exceed the two queues plus
    one frame in each stage's hands, whatever the clip's length; a deeper queue holds more (the measure
    sees the queues)."""
    one = _in_flight(tmp_path, tiny_weights, monkeypatch, 1)
    six = _in_flight(tmp_path, tiny_weights, monkeypatch, 6)
    assert one <= 2 * 1 + 3
    assert 6 < six <= 2 * 6 + 3


def test_codec_threads_idle_only_for_cpu_file_mode():
    import os
    import threading

    from vdeblur.config import RunConfig
    from vdeblur.pipeline import codec_idle
    from vdeblur.stages import idle_priority as _idle_priority

    cfg = RunConfig(input="in.mp4", output="out.mp4")
    assert codec_idle(cfg, "cpu", live=False)
    assert not codec_idle(cfg, "cpu", live=True)       # live: decoding late adds latency
    assert not codec_idle(cfg, "cuda:0", live=False)
    assert not codec_idle(RunConfig(input="a", output="b", codec_idle=False), "cpu", False)
    if not hasattr(os, "SCHED_IDLE"):
        return
    seen = {}

    def worker():
        _idle_priority()
        seen["policy"] = os.sched_getscheduler(threading.get_native_id())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["policy"] == os.SCHED_IDLE
    assert os.sched_getscheduler(threading.get_native_id()) != os.SCHED_IDLE   # only that thread


def test_deblur_file_takes_the_cli_dataclasses(tmp_path, clip, tiny_weights):
    from vdeblur import EncodeConfig, ModelConfig, RunConfig

    base = RunConfig(input="", output="", model=ModelConfig(spec=str(tiny_weights), backend="torch"),
                     encode=EncodeConfig(crf=30, preset="ultrafast"))
    s = deblur_file(clip, tmp_path / "a.mp4", base, device="cpu", preset="veryfast", json_path=str(tmp_path / "s.json"))
    assert s["frames_out"] == s["frames_in"] and s["backend"] == "torch"
    assert (tmp_path / "s.json").exists()
    with pytest.raises(TypeError, match="unknown option 'colour'"):
        deblur_file(clip, tmp_path / "b.mp4", base, colour="red")


def test_sample_aspect_ratio_is_carried(tmp_path, tiny_weights):
    from fractions import Fraction

    inp = tmp_path / "sar.mkv"
    make_clip(inp, frames=3, width=64, height=48, audio=False, colour={"sample_aspect_ratio": Fraction(2, 1)})
    with av.open(str(inp)) as c:
        assert c.streams.video[0].codec_context.sample_aspect_ratio == Fraction(2, 1)
    out = tmp_path / "out.mkv"
    run(inp, out, tiny_weights)
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.sample_aspect_ratio == Fraction(2, 1)
