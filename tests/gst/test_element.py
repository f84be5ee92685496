"""The `vdeblur` GStreamer element through real gst-launch-1.0 pipelines and an appsrc/appsink application:
N frames out, the input's timestamps, the same pixels as `vdeblur run`, a state reset on a caps change.
Skipped where GStreamer's tools or its Python plugin loader are missing (Debian packages in vdeblur.gst)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

av = pytest.importorskip("av")

import numpy as np  # noqa: E402

from vdeblur.colour import frame_to_rgb  # noqa: E402
from vdeblur.gst import env_lines, loader_missing  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
_missing = loader_missing() if shutil.which("gst-launch-1.0") else "gst-launch-1.0 is not installed"
pytestmark = pytest.mark.skipif(_missing is not None, reason=str(_missing))


def gst_env() -> dict:
    env = dict(os.environ)
    for line in env_lines():
        key, value = line[len("export "):].split("=", 1)
        env[key] = value.strip("'")
    env["GST_DEBUG"] = "1"
    env["GST_REGISTRY"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / f"vdeblur-gst-registry-{os.getuid()}.bin")
    return env


def launch(pipeline: str, timeout: int = 120) -> None:
    r = subprocess.run(["gst-launch-1.0", "-q", *pipeline.split()], env=gst_env(), capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]


def frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [(round(float(f.pts * v.time_base), 4), frame_to_rgb(f, v.codec_context.name)) for f in c.decode(v)]


def psnr(a, b) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.mark.parametrize("fmt", ["I420", "RGB"])
def test_gst_launch_gives_every_frame_at_its_time_and_the_pixels_of_vdeblur_run(tmp_path, tiny_weights, fmt):
    n, src, out = 12, tmp_path / "in.mkv", tmp_path / "out.mkv"
    caps = f"video/x-raw,format={fmt},width=96,height=64,framerate=25/1"
    # The same frames, once as they are (the reference input) and once through the element.
    launch(f"videotestsrc num-buffers={n} pattern=ball ! {caps} ! videoconvert ! video/x-raw,format=I420 ! "
           f"matroskamux ! filesink location={src}")
    launch(f"videotestsrc num-buffers={n} pattern=ball ! {caps} ! vdeblur model={tiny_weights} backend=onnxruntime "
           f"precision=fp32 ! videoconvert ! video/x-raw,format=I420 ! matroskamux ! filesink location={out}")
    got, want = frames(out), frames(src)
    assert len(got) == len(want) == n
    assert [t for t, _ in got] == [t for t, _ in want]
    ref = tmp_path / "ref.mkv"
    from vdeblur import deblur_file

    deblur_file(str(src), str(ref), model=str(tiny_weights), backend="onnxruntime", precision="fp32", crf=0,
                overwrite=True)
    for (_, a), (_, b) in zip(got, frames(ref)):
        assert psnr(a, b) >= 40


def test_appsrc_application_and_a_state_reset_on_a_caps_change(tmp_path, tiny_weights):
    def run(*extra) -> list[str]:
        r = subprocess.run([SYSTEM_PYTHON, str(ROOT / "examples" / "gst_appsrc.py"), "--frames", "6",
                            "--model", str(tiny_weights), "--backend", "onnxruntime", *extra],
                           env=gst_env(), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        return [line for line in r.stdout.splitlines() if line]

    plain, resized = run(), run("--resize-at", "3")
    assert len([x for x in plain if x.startswith("frame")]) == 6
    assert [x.split(",")[0] for x in resized if x.startswith("frame")] == [f"frame {i}: pts {i * 0.04:.3f} s"
                                                                           for i in range(6)]
    assert "192x128" in resized[3] and "96x64" in resized[2]
    resets = lambda lines: int(lines[-1].split(": ")[1])  # noqa: E731
    assert resets(resized) > resets(plain)


def test_gst_env_prints_what_gstreamer_needs():
    lines = env_lines()
    assert lines[0].startswith("export GST_PLUGIN_PATH=") and "vdeblur/gst" in lines[0]
    assert lines[1].startswith("export PYTHONPATH=")
