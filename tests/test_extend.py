"""How to extend vdeblur, each row of docs/design.md's table backed by a toy: a new input kind, a new output
kind and a new engine, each one registration, run end to end through `run_file` with no other file touched."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from clips import video_pts

from vdeblur import inputs, sinks
from vdeblur.backends import base
from vdeblur.config import ModelConfig, RunConfig
from vdeblur.pipeline import run_file
from vdeblur.source import DecodedFrame, VideoInfo


class ToySource:
    """n grey ramps at 25 fps, no audio: the whole input contract (inputs.VideoSource)."""

    def __init__(self, n: int):
        self.n = n
        self.info = VideoInfo(64, 48, Fraction(1, 25), Fraction(25), n, "yuv420p", 8, "toy", 1, 1, 1, 1)
        self.passthrough, self.left_out = [], []
        self.decode_errors, self.error_detail, self.reconnects = 0, None, 0
        self.start_s = 0.0
        self.closed = False

    def items(self, stop=None):
        for i in range(self.n):
            if stop is not None and stop():
                return
            yield DecodedFrame(np.full((48, 64, 3), 10 * i, np.uint8), pts=i, index=i)

    def seek(self, pts):
        raise ValueError("a toy cannot seek")

    def shortfall(self, decoded):
        return None if decoded == self.n else f"{decoded} of {self.n}"

    def close(self):
        self.closed = True


@pytest.fixture
def registered(monkeypatch):
    """Registrations undone after the test."""
    monkeypatch.setattr(inputs, "_KINDS", list(inputs._KINDS))
    monkeypatch.setattr(sinks, "_KINDS", list(sinks._KINDS))
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))


def test_a_new_input_kind_is_one_registration(registered, tmp_path, tiny_weights):
    opened = []

    def open_toy(cfg, stop):
        opened.append(ToySource(int(cfg.input.split(":")[1])))
        return opened[-1]

    inputs.register(inputs.InputKind("toy", False, lambda inp, fmt: inp.startswith("toy:"), open_toy))
    assert isinstance(ToySource(1), inputs.VideoSource)
    out = tmp_path / "o.mp4"
    s = run_file(RunConfig(input="toy:7", output=str(out), model=ModelConfig(spec=str(tiny_weights)),
                           progress=False))
    import av

    with av.open(str(out)) as c:
        times = [round(f.time, 3) for f in c.decode(video=0)]
    assert s["frames_out"] == 7 and times == [i / 25 for i in range(7)] and opened[0].closed


class ListSink:
    """Keeps frames in memory: the whole sink contract (sinks.Sink)."""

    got: dict = {}

    def __init__(self, target, info, enc, width, height, passthrough, live, overwrite=True, left_out=()):
        self.target, self.frames = target, 0
        ListSink.got[target] = []

    def write_frame(self, rgb, pts):
        ListSink.got[self.target].append((pts, rgb.copy()))
        self.frames += 1

    def write_packet(self, packet):
        pass

    def close(self):
        return self.target

    def salvage(self):
        return self.frames

    def abort(self):
        ListSink.got.pop(self.target, None)


def test_a_new_output_kind_is_one_registration(registered, clip, tiny_weights):
    sinks.register(sinks.SinkKind("mem", lambda out: out.startswith("mem:"), lambda inp, out, ow: out, ListSink))
    s = run_file(RunConfig(input=str(clip), output="mem:a", model=ModelConfig(spec=str(tiny_weights)),
                           progress=False))
    frames = ListSink.got["mem:a"]
    assert s["frames_out"] == len(frames) == 12 and [p for p, _ in frames] == video_pts(clip)


class HalfEngine:
    """An engine that darkens by half: the whole backend contract (backends.base.Backend), numpy on the CPU."""

    name, device, window, stride, state_names, margin, width = "half", "cpu", 2, 8, ["s"], 0, 16
    info: dict = {}

    def __init__(self):
        from vdeblur.config import Precision

        self.precision = Precision.FP32

    @classmethod
    def from_config(cls, cfg):
        return cls()

    def init_state(self, h, w, slot=0):
        return (np.zeros((1, 1, h // 8, w // 8), np.float32),)

    def step(self, window, state):
        return window[:, -1] * 0.5, state

    def close(self):
        pass


def test_a_new_engine_is_one_registration(registered, monkeypatch, clip, tmp_path):
    import sys
    import types

    module = types.ModuleType("toy_engine")
    module.HalfEngine = HalfEngine
    monkeypatch.setitem(sys.modules, "toy_engine", module)
    base.register("half", "toy_engine:HalfEngine", lambda: True)
    out = tmp_path / "o.mkv"
    s = run_file(RunConfig(input=str(clip), output=str(out), model=ModelConfig(backend="half"), progress=False))
    assert s["frames_out"] == 12 and s["backend"] == "half"
    import av

    with av.open(str(out)) as c:
        first = next(c.decode(video=0)).to_ndarray(format="gray")
    with av.open(str(clip)) as c:
        src = next(c.decode(video=0)).to_ndarray(format="gray")
    assert abs(first.mean() - src.mean() / 2) < 3


def test_a_new_architecture_is_one_registration(registered, monkeypatch, clip, tmp_path):
    """A toy network (the current frame times a learned gain) registered by name, saved with that name in its
    weights, exported to ONNX on first use and run by ONNX Runtime through the whole pipeline."""
    from dataclasses import dataclass

    import torch
    from torch import nn

    from vdeblur.model import registry
    from vdeblur.model.loading import save_weights

    @dataclass(frozen=True)
    class GainConfig:
        gain: float = 1.0

        def to_dict(self):
            return {"gain": self.gain}

        @classmethod
        def from_dict(cls, d):
            gain = float(d["gain"])
            if not 0 < gain <= 4:
                raise ValueError("gain out of range")
            return cls(gain)

    class GainNet(nn.Module):
        window, stride, state_names, width = 2, 8, ["m0"], 4

        def __init__(self, config):
            super().__init__()
            self.config = config
            self.gain = nn.Parameter(torch.tensor(config.gain))

        def state_shapes(self, n, h, w):
            return [(n, 4, h // 8, w // 8)]

        def receptive_radius(self):
            return 0

        def init_state(self, n, h, w, device=None, dtype=torch.float32):
            return tuple(torch.zeros(s, device=device, dtype=dtype) for s in self.state_shapes(n, h, w))

        def forward(self, window, *state):
            return window[:, -1] * self.gain, state[0] * 0.5

    monkeypatch.setattr(registry, "_ARCHITECTURES", dict(registry._ARCHITECTURES))
    registry.register("gain", GainNet, GainConfig.from_dict)
    weights = tmp_path / "gain.safetensors"
    save_weights(GainNet(GainConfig(0.5)), weights, {"preset": "gain"}, arch="gain")
    out = tmp_path / "o.mkv"
    s = run_file(RunConfig(input=str(clip), output=str(out), model=ModelConfig(spec=str(weights), backend="onnxruntime"),
                           progress=False))
    import av

    with av.open(str(out)) as c:
        first = next(c.decode(video=0)).to_ndarray(format="gray")
    with av.open(str(clip)) as c:
        src = next(c.decode(video=0)).to_ndarray(format="gray")
    assert s["frames_out"] == 12 and abs(first.mean() - src.mean() / 2) < 3
