"""`--backend auto` on a CPU: measured once per machine, model and size, then read from the cache."""
from __future__ import annotations

import json

import pytest

from vdeblur.backends import probe
from vdeblur.backends.cache import cache_dir
from vdeblur.config import ModelConfig, Precision
from vdeblur.model.loading import load_model


def test_int8_is_a_candidate_only_when_allowed(tiny_weights):
    _, small = load_model("small")
    _, tiny = load_model(str(tiny_weights))
    assert {p for _, p in probe.candidates(ModelConfig(), small)} == {Precision.FP32, Precision.INT8}
    assert {p for _, p in probe.candidates(ModelConfig(), tiny)} == {Precision.FP32}
    assert {p for _, p in probe.candidates(ModelConfig(precision=Precision.FP32), small)} == {Precision.FP32}


def test_measured_once_then_cached(tiny_weights, monkeypatch, caplog):
    cfg = ModelConfig(spec=str(tiny_weights))
    timed = []
    monkeypatch.setattr(probe, "PROBE_S", 0.05)
    real = probe.measure

    def counting(backend, h, w, seconds=0.05):
        timed.append(backend.name)
        return real(backend, h, w, seconds)

    monkeypatch.setattr(probe, "measure", counting)
    with caplog.at_level("INFO", logger="vdeblur"):
        first = probe.choose(cfg, (37, 61))
        n = len(timed)
        second = probe.choose(cfg, (37, 61))
    k = len(probe.candidates(cfg, load_model(str(tiny_weights))[1]))
    # Each candidate timed PROBE_ROUNDS times, the two leaders up to PROBE_TIEBREAK_ROUNDS more when close.
    assert k >= 2 and probe.PROBE_ROUNDS * k <= n <= probe.PROBE_ROUNDS * k + 2 * probe.PROBE_TIEBREAK_ROUNDS
    assert len(timed) == n                      # the second run measured nothing
    assert (first.name, first.precision) == (second.name, second.precision)
    assert any("fps measured at 64x40" in r.message and "(cached)" in r.message for r in caplog.records)
    first.close()
    second.close()


def test_a_damaged_cache_entry_is_measured_again(tiny_weights, monkeypatch):
    from vdeblur.backends.exported import exported_step

    cfg = ModelConfig(spec=str(tiny_weights))
    monkeypatch.setattr(probe, "PROBE_S", 0.05)
    step = exported_step(str(tiny_weights))
    entry = cache_dir() / "auto" / f"{probe.cache_key(cfg, step.spec.digest, (40, 48), probe.candidates(cfg, step.info))}.json"
    probe.choose(cfg, (40, 48)).close()
    assert entry.exists()
    entry.write_text("{not json")
    backend = probe.choose(cfg, (40, 48))
    assert backend.name in probe.CPU_BACKENDS
    assert json.loads(entry.read_text())["backend"] == backend.name
    backend.close()


def test_key_changes_with_threads_and_size(tiny_weights):
    c = [("onnxruntime", Precision.FP32)]
    a = probe.cache_key(ModelConfig(threads=1), "d", (360, 640), c)
    assert a != probe.cache_key(ModelConfig(threads=2), "d", (360, 640), c)
    assert a != probe.cache_key(ModelConfig(threads=1), "d", (720, 1280), c)
    assert a != probe.cache_key(ModelConfig(threads=1), "e", (360, 640), c)


@pytest.mark.parametrize("rates,extra", [((100.0, 98.0), True), ((100.0, 50.0), False)])
def test_a_close_race_is_timed_again(tiny_weights, monkeypatch, tmp_path, rates, extra):
    """Leaders within PROBE_CLOSE of each other get more rounds, so the pick does not flip on noise."""
    monkeypatch.setenv("VDEBLUR_CACHE", str(tmp_path))
    cfg = ModelConfig(spec=str(tiny_weights))
    k = len(probe.candidates(cfg, load_model(str(tiny_weights))[1]))
    if k < 2:
        pytest.skip("one CPU backend installed")
    calls = []

    def fixed(backend, h, w, seconds=0.05):
        calls.append(backend.name)
        return rates[0] if backend.name == calls[0] else rates[1]

    monkeypatch.setattr(probe, "measure", fixed)
    probe.choose(cfg, (37, 61)).close()
    assert (len(calls) > probe.PROBE_ROUNDS * k) == extra
