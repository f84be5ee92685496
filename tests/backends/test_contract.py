"""The backend contract, once for every registered backend that can run here (others skip with the reason):
the Protocol's attributes, state shapes and names, a reset that really forgets, and numbers that match the
torch CPU reference over several frames with the state carried."""
from __future__ import annotations

import pytest
import torch

from clips import as_cpu, as_input, run_backend, step_windows

from vdeblur.backends import Backend, StateBuffers, backend_names, open_backend
from vdeblur.backends.base import entry
from vdeblur.backends.select import auto_choice
from vdeblur.config import ModelConfig, Precision
from vdeblur.errors import BackendError
from vdeblur.geometry import FrameGeometry

H, W = 72, 104
TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2}
CPU_ONLY = ("onnxruntime", "openvino")


def frames(n):
    return step_windows(n, H, W)


def run(backend, wins):
    return run_backend(backend, wins, H, W)


@pytest.fixture(scope="module")
def reference():
    b = open_backend(ModelConfig(spec="small", backend="torch", device="cpu"))
    return run(b, frames(6))


def open_named(name: str):
    """The shipped small on backend `name` (skips where it cannot run): torch on the CPU, the CPU backends
    in fp32 (auto would run small in int8 there: tests/backends/test_quantize.py), GPU backends as auto."""
    if not entry(name).available() and name != "torch":
        pytest.skip(f"{name} cannot run here")
    device = "cpu" if name == "torch" else "auto"
    precision = Precision.FP32 if name in CPU_ONLY else Precision.AUTO
    return open_backend(ModelConfig(spec="small", backend=name, device=device, precision=precision))


@pytest.mark.parametrize("name", backend_names())
def test_every_backend_keeps_the_contract(name, reference):
    b = open_named(name)
    try:
        assert isinstance(b, Backend) and b.name == name
        assert b.window == 3 and b.stride == 8 and b.state_names == ["h0", "c0"]
        assert b.info.get("preset") == "small" and isinstance(b.precision, Precision)
        state = b.init_state(H, W)
        assert [tuple(s.shape) for s in state] == [(1, 64, *FrameGeometry(H, W).state_size)] * 2
        got = run(b, frames(6))
        tol = TOLERANCE[b.precision.value]
        assert max((a - c).abs().max().item() for a, c in zip(reference, got)) <= tol
        # init_state forgets: the first frame after it matches a fresh start.
        again = run(b, frames(1))
        assert (again[0] - reference[0]).abs().max().item() <= tol
    finally:
        b.close()


@pytest.mark.parametrize("name", backend_names())
def test_state_slots_are_independent(name):
    """Tiles carry one state each: stepping slot 1 between slot 0's steps changes nothing for slot 0, and
    the state a step returns stays valid until that slot's next step."""
    b = open_named(name)
    try:
        alone = run(b, frames(4))
        other = step_windows(4, H, W, seed=1)
        s0, s1 = b.init_state(H, W, slot=0), b.init_state(H, W, slot=1)
        got = []
        for a, o in zip(frames(4), other):
            out, s0 = b.step(as_input(a, b), s0)
            got.append(as_cpu(out))
            kept = [as_cpu(t) for t in s0]
            _, s1 = b.step(as_input(o, b), s1)
            assert all(torch.equal(k, as_cpu(t)) for k, t in zip(kept, s0))
        tol = TOLERANCE[b.precision.value]
        assert max((x - y).abs().max().item() for x, y in zip(alone, got)) <= tol
    finally:
        b.close()


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(BackendError, match="unknown backend 'nope'"):
        open_backend(ModelConfig(backend="nope"))


def test_auto_takes_the_first_available_backend_in_auto_order(monkeypatch):
    """auto_choice walks the ranked backends in order and takes the first whose check passes; the fallback
    only when none does. Here (a registry of fakes) and on this machine (what it picks can run here)."""
    from vdeblur.backends import base

    fakes = {}
    for name, rank, ok in (("gpu-a", 1, False), ("cpu-b", 2, True), ("cpu-c", 3, True), ("unranked", None, True)):
        fakes[name] = base.BackendEntry(name, "x:Y", (lambda ok=ok: ok), rank)
    monkeypatch.setattr(base, "_REGISTRY", fakes)
    assert auto_choice() == "cpu-b"
    fakes["cpu-b"] = base.BackendEntry("cpu-b", "x:Y", lambda: False, 2)
    assert auto_choice() == "cpu-c"
    fakes["cpu-c"] = base.BackendEntry("cpu-c", "x:Y", lambda: False, 3)
    assert auto_choice(fallback="unranked") == "unranked"
    monkeypatch.undo()
    picked = auto_choice()
    assert entry(picked).available() or picked == "torch"
    if not entry("torch").available():      # no CUDA here: a CPU engine, the torch fallback only without one
        assert picked in CPU_ONLY or not any(entry(n).available() for n in CPU_ONLY)


def test_state_buffers_keep_slots_apart():
    sb = StateBuffers(lambda shape, i: torch.zeros(shape))
    a0 = sb.reset([(1, 2, 3, 4)], slot=0)
    a1 = sb.reset([(1, 2, 3, 4)], slot=1)
    out0, out1 = sb.outputs_for(a0), sb.outputs_for(a1)
    ptrs = {t[0].data_ptr() for t in (a0, a1, out0, out1)}
    assert len(ptrs) == 4 and sb.slots == 2
    assert sb.outputs_for(tuple(out1))[0].data_ptr() == a1[0].data_ptr()


def test_state_buffers_swap_between_two_sets():
    sb = StateBuffers(lambda shape, i: torch.full(shape, 7.0))
    a = sb.reset([(1, 2, 3, 4)])
    assert not a[0].any()
    b = sb.outputs_for(a)
    assert b[0].data_ptr() != a[0].data_ptr()
    assert sb.outputs_for(tuple(b))[0].data_ptr() == a[0].data_ptr()
    assert sb.reset([(1, 2, 3, 4)])[0].data_ptr() == a[0].data_ptr()     # same shapes: no reallocation
