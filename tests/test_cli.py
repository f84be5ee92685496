"""The CLI as a user meets it: exit codes, the summary, Ctrl-C. (Each bad input and fault is a row of
tests/test_bad_inputs.py.)"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("av")

import av  # noqa: E402
import numpy as np
import pytest
from clips import make_clip

CLI = [sys.executable, "-m", "vdeblur.cli"]


def vdeblur(*args, **kw):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300, **kw)


def assert_one_line_error(r, *words):
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert lines[0].startswith("vdeblur: error:")
    for w in words:
        assert w in lines[0], lines[0]


def no_partial_files(folder: Path):
    return not [p for p in folder.iterdir() if ".partial" in p.name]


def test_damaged_input_reports_and_keeps_frames(tmp_path, tiny_weights):
    good = tmp_path / "in.ts"
    make_clip(good, frames=40, width=160, height=96, audio=False)
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 3000] = random.Random(0).randbytes(3000)   # the same garbage in the middle every run
    bad = tmp_path / "bad.ts"
    bad.write_bytes(bytes(data))
    out = tmp_path / "o.mkv"
    r = vdeblur("run", bad, "-o", out, "--model", tiny_weights, "--json", tmp_path / "s.json")
    import json
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["frames_in"] == s["frames_out"] > 0
    # This garbage makes the demuxer lose two frames without a decoder error: the corrupt flags catch it.
    assert s["decode_errors"] > 0
    assert r.returncode == 3, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("vdeblur: error: damaged input") and "undecodable" in last
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == s["frames_out"]


def test_success_summary_and_quiet(clip, tmp_path, tiny_weights):
    out = tmp_path / "o.mp4"
    r = vdeblur("run", clip, "-o", out, "--model", tiny_weights, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "" and r.stdout == ""
    r = vdeblur("run", clip, "-o", out, "-y", "--model", tiny_weights)
    assert r.returncode == 0 and "frames" in r.stderr


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    inp = tmp_path_factory.mktemp("long") / "long.mp4"
    make_clip(inp, frames=400, width=480, height=272, audio=True)
    return inp


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_leaves_playable_partial_output(tmp_path, tiny_weights, long_clip, sig, code):
    inp = long_clip
    out = tmp_path / "o.mp4"
    p = subprocess.Popen([*CLI, "run", str(inp), "-o", str(out), "--model", str(tiny_weights),
                          "--preset", "slow", "--backend", "onnxruntime", "--precision", "fp32"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Signal once encoding is under way (the temporary output has grown), however slow the machine is.
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        parts = [f for f in tmp_path.iterdir() if ".partial" in f.name]
        if parts and parts[0].stat().st_size > 20_000:
            break
        time.sleep(0.05)
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == code, err
    assert "partial" in err and "Traceback" not in err
    with av.open(str(out)) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert 0 < n < 400
    assert no_partial_files(tmp_path)


def test_build_engine_profile_and_missing_tensorrt(tmp_path):
    r = vdeblur("build-engine", "--model", "small", "--min", "4000x100")
    assert_one_line_error(r, "profile", "min <= opt <= max")
    r = vdeblur("build-engine", "--model", "small", "--opt", "big")
    assert_one_line_error(r, "profile", "WIDTHxHEIGHT")
    try:
        import tensorrt  # noqa: F401
        import torch
        if torch.cuda.is_available():
            pytest.skip("TensorRT and a GPU are here: the GPU tests build real engines")
    except ImportError:
        pass
    r = vdeblur("build-engine", "--model", "small")
    assert_one_line_error(r, "tensorrt")


def test_help_and_import_leave_torch_out():
    """`vdeblur --help` and `import vdeblur` start fast: nothing on their path imports torch."""
    import subprocess
    import sys

    code = ("import sys, contextlib, io, vdeblur, vdeblur.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: vdeblur.cli.main(['run', '--help'])\n"
            "    except SystemExit: pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_fail_like_ffmpeg_a_missing_capture_device_and_cuda_without_a_gpu(tmp_path, capsys):
    import torch

    from vdeblur.cli import main

    assert main(["run", "/dev/video77", "-o", str(tmp_path / "o.mp4"), "--quiet"]) == 2
    assert "capture device not found: /dev/video77" in capsys.readouterr().err
    if not torch.cuda.is_available():
        from clips import make_clip

        clip = tmp_path / "in.mp4"
        make_clip(clip, frames=2, width=64, height=48, audio=False)
        assert main(["run", str(clip), "-o", str(tmp_path / "o.mp4"), "--device", "cuda", "--quiet"]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err


def test_bench_flags_a_pipeline_faster_than_its_model_as_invalid():
    from vdeblur.bench import warnings_for

    r = {"pipeline_fps": 50.0, "model_only": {"fps": 25.0}, "pipeline_efficiency": 2.0,
         "stages_ms": {"inference": {"count": 10, "cv": 0.01, "mean": 20.0}}}
    assert any(w.startswith("INVALID") for w in warnings_for(r)) and r["valid"] is False


def test_sigterm_while_the_model_is_prepared_stops_at_once(tmp_path, tiny_weights):
    """A stop during the int8 quantization (a cold cache) ends the run within seconds with 143 (#25)."""
    import signal
    import subprocess
    import sys
    import time

    from clips import make_clip

    clip = tmp_path / "in.mp4"
    make_clip(clip, frames=4, width=64, height=48, audio=False)
    env = {**os.environ, "VDEBLUR_CACHE": str(tmp_path / "cold-cache")}
    p = subprocess.Popen([sys.executable, "-m", "vdeblur.cli", "run", str(clip), "-o", str(tmp_path / "o.mp4"),
                          "--backend", "onnxruntime", "--precision", "int8", "--quiet"], env=env,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list((tmp_path / "cold-cache").rglob("*.onnx")):
        time.sleep(0.05)          # the fp32 export is there: quantization is next
    p.send_signal(signal.SIGTERM)
    t0 = time.time()
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 143 and time.time() - t0 < 5, err
    assert "while the model was being prepared" in err.strip().splitlines()[-1]
    assert not (tmp_path / "o.mp4").exists()
