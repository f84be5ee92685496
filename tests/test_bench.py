"""`vdeblur bench`: the statistics around it, and a tiny real run that writes valid JSON (no speed asserted)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("av")

from vdeblur.bench import parse_matrix, parse_size, warnings_for  # noqa: E402
from vdeblur.errors import VdeblurError  # noqa: E402


def test_parse_matrix_makes_every_combination():
    combos = parse_matrix(["backend=onnxruntime,torch", "size=640x360,1280x720"])
    assert len(combos) == 4
    assert {"backend": "torch", "size": "1280x720"} in combos
    with pytest.raises(VdeblurError):
        parse_matrix(["colour=red"])
    with pytest.raises(VdeblurError):
        parse_matrix(["backend"])


def test_parse_size():
    assert parse_size("1280x720") == (1280, 720)
    for bad in ("1280", "axb", "4x4", "100000x10"):
        with pytest.raises(VdeblurError):
            parse_size(bad)


def stage(mean, cv=0.0):
    return {"count": 10, "mean": mean, "cv": cv}


def test_warnings_for_spread_and_bottleneck():
    r = {"stages_ms": {"decode": stage(1), "inference": stage(10, 0.5), "encode": stage(20),
                       "end_to_end": stage(100)}}
    w = warnings_for(r)
    assert any("varies" in x for x in w)
    assert any(x.startswith("encode") and "not model-bound" in x for x in w)
    r = {"stages_ms": {"decode": stage(1), "inference": stage(10, 0.01), "end_to_end": stage(100)}}
    assert warnings_for(r) == []


def test_tiny_bench_writes_json_and_plot(tmp_path, tiny_weights):
    pytest.importorskip("matplotlib")
    js, png = tmp_path / "b.json", tmp_path / "b.png"
    r = subprocess.run([sys.executable, "-m", "vdeblur.cli", "bench", "--synthetic", "64x48", "--frames", "6",
                        "--warmup-s", "0.05", "--model", str(tiny_weights), "--preset", "ultrafast",
                        "--matrix", "backend=torch,onnxruntime", "--json", str(js), "--plot", str(png)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(js.read_text())
    assert [x["backend"] for x in report["results"]] == ["torch", "onnxruntime"]
    for x in report["results"]:
        assert x["frames"] == 6 and x["size"] == "64x48"
        for s in ("decode", "preprocess", "inference", "postprocess", "encode", "end_to_end"):
            st = x["stages_ms"][s]
            assert st["count"] == 6
            assert st["min"] <= st["median"] <= st["p90"] <= st["p95"] <= st["p99"] <= st["max"]
        assert x["pipeline_fps"] > 0 and x["model_only"]["fps"] > 0
    assert "cores" in report["hardware"] and "torch" in report["hardware"]["versions"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| backend |" in r.stdout


def test_bench_bad_arguments_are_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vdeblur.cli", "bench", "--matrix", "speed=fast"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "bad --matrix" in r.stderr
    r = subprocess.run([sys.executable, "-m", "vdeblur.cli", "bench", str(tmp_path / "missing.mp4")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "not found" in r.stderr
