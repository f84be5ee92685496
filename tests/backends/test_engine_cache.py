"""TensorRT engine cache: key, validation and rebuild, atomic writes, one build across processes.
Runs without TensorRT: build and validate are stand-ins with the same contract."""
from __future__ import annotations

import json
import multiprocessing as mp
import time
from dataclasses import replace

import pytest

from vdeblur.backends.engine_cache import EngineCache, EngineSpec
from vdeblur.config import ShapeProfile

SPEC = EngineSpec(onnx_sha256="ab" * 32, precision="fp16", profile=ShapeProfile(), trt_version="10.13.0",
                  gpu_name="NVIDIA H100 80GB HBM3")


def fake_validate(data: bytes):
    if not data.startswith(b"ENGINE"):
        raise ValueError("not an engine")
    return data


def test_key_depends_on_every_field():
    others = [replace(SPEC, onnx_sha256="cd" * 32), replace(SPEC, precision="fp32"),
              replace(SPEC, profile=ShapeProfile(max=(1920, 1080))), replace(SPEC, trt_version="11.0.0"),
              replace(SPEC, gpu_name="NVIDIA H200")]
    keys = {SPEC.key(), *(o.key() for o in others)}
    assert len(keys) == 6
    # Equal specs built separately (another process, another session) share the key, and it names a file.
    twin = EngineSpec(onnx_sha256="ab" * 32, precision="fp16", profile=ShapeProfile(min=(320, 184)),
                      trt_version="10.13.0", gpu_name="NVIDIA H100 80GB HBM3")
    assert twin.key() == SPEC.key() and SPEC.key().isalnum()


def test_builds_once_then_loads_from_cache(tmp_path):
    cache = EngineCache(tmp_path)
    calls = []

    def build(timing):
        calls.append(timing)
        return b"ENGINE-1", b"TIMING-1"

    assert cache.get_or_build(SPEC, build, fake_validate) == b"ENGINE-1"
    assert cache.get_or_build(SPEC, build, fake_validate) == b"ENGINE-1"
    assert calls == [None]
    assert json.loads(cache.path(SPEC).with_suffix(".json").read_text())["key"] == SPEC.key()
    # The timing cache is kept and handed to the next build (another precision here).
    other = replace(SPEC, precision="fp32")
    cache.get_or_build(other, build, fake_validate)
    assert calls == [None, b"TIMING-1"]
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_cached_engine_is_rebuilt(tmp_path):
    cache = EngineCache(tmp_path)
    tmp_path.mkdir(exist_ok=True)
    cache.path(SPEC).write_bytes(b"truncated garbage")
    assert cache.get_or_build(SPEC, lambda t: (b"ENGINE-2", None), fake_validate) == b"ENGINE-2"
    assert cache.path(SPEC).read_bytes() == b"ENGINE-2"


def test_failed_build_leaves_nothing(tmp_path):
    cache = EngineCache(tmp_path)

    def build(timing):
        raise RuntimeError("builder out of memory")

    with pytest.raises(RuntimeError):
        cache.get_or_build(SPEC, build, fake_validate)
    assert not cache.path(SPEC).exists()
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    # An engine that fails validation right after its build is not cached either.
    with pytest.raises(ValueError):
        cache.get_or_build(SPEC, lambda t: (b"junk", None), fake_validate)
    assert not cache.path(SPEC).exists()


def _racer(root, log, barrier):
    def build(timing):
        with open(log, "a") as f:
            f.write("build\n")
        time.sleep(1.0)
        return b"ENGINE-race", None

    barrier.wait()
    assert EngineCache(root).get_or_build(SPEC, build, fake_validate) == b"ENGINE-race"


def test_two_processes_build_the_engine_once(tmp_path):
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(2)
    log = tmp_path / "builds.log"
    procs = [ctx.Process(target=_racer, args=(tmp_path / "engines", log, barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert log.read_text().count("build") == 1


def test_profile_parse_check_cover():
    assert ShapeProfile.parse("1920x1080") == (1920, 1080)
    assert ShapeProfile.parse("320x180") == (320, 184)      # padded to the stride, as the pipeline pads
    with pytest.raises(ValueError):
        ShapeProfile.parse("1920")
    with pytest.raises(ValueError):
        ShapeProfile(min=(640, 360), opt=(320, 184), max=(3840, 2160)).check()
    p = ShapeProfile()
    assert p.covers(640, 360) and not p.covers(7680, 4320) and not p.covers(160, 96)


def test_the_fallback_cache_is_never_a_folder_someone_else_controls(tmp_path):
    import os

    from vdeblur.backends.cache import private_dir

    mine = private_dir(tmp_path / "fresh")
    assert mine == tmp_path / "fresh" and (os.stat(mine).st_mode & 0o777) == 0o700
    assert private_dir(mine) == mine                       # ours already: kept
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)                                     # world-writable: someone could plant a model
    assert private_dir(shared) != shared
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(target)
    assert private_dir(tmp_path / "link") != tmp_path / "link"
    (tmp_path / "file").write_text("x")
    assert private_dir(tmp_path / "file").is_dir()         # a file there: no raw FileExistsError


def test_a_cached_model_that_differs_from_its_recorded_digest_is_rebuilt(tiny_weights, caplog):
    from vdeblur.backends.onnx_export import cached_onnx
    from vdeblur.model.loading import load_model

    net, _ = load_model(str(tiny_weights))
    path = cached_onnx(net)
    good = path.read_bytes()
    planted = bytearray(good)
    planted[-20] ^= 0xFF                        # a model swapped in the cache after it was written
    path.write_bytes(bytes(planted))
    with caplog.at_level("WARNING", logger="vdeblur"):
        assert cached_onnx(net) == path
    assert path.read_bytes() == good and "does not match the digest" in caplog.text


def test_a_full_cache_disk_falls_back_to_a_private_temporary(tiny_weights, monkeypatch, caplog):
    import errno

    from vdeblur.backends import onnx_export
    from vdeblur.model.loading import load_model

    net, _ = load_model(str(tiny_weights))
    real = onnx_export.export_onnx
    calls = []

    def full_then_fine(module, path, *a, **k):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(module, path, *a, **k)

    monkeypatch.setattr(onnx_export, "export_onnx", full_then_fine)
    monkeypatch.setattr(onnx_export, "GRAPH_TAG", onnx_export.GRAPH_TAG + "-full-disk")   # not cached yet
    with caplog.at_level("WARNING", logger="vdeblur"):
        path = onnx_export.cached_onnx(net)
    assert path.exists() and "vdeblur-onnx-" in str(path.parent) and "No space left" in caplog.text
