#!/usr/bin/env python3
"""The GStreamer element's speed against `vdeblur run` on the same frames and backend, and the latency it
adds (push into appsrc -> pull from appsink, per frame: p50 / p99), after a warm-up.

    eval "$(vdeblur gst-env)"
    python3 benchmarks/gst_element.py --frames 200 --size 640x360 --backend onnxruntime --json out.json

Run with the Python that has GStreamer's bindings. Both sides run one after the other in this process on
the same frames: `vdeblur run` decodes and re-encodes (its fps is frames / wall time of the run), the element
gets raw RGB buffers (its fps is frames / wall time of pushing and pulling them all).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import Gst, GstApp  # noqa: E402,F401  (GstApp: appsrc/appsink's signals)

import numpy as np  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--backend", default="onnxruntime")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--model", default="small")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    w, h = (int(v) for v in a.size.split("x"))
    from vdeblur import deblur_file
    from vdeblur.backends.probe import cpu_model
    from vdeblur.bench import synthetic_clip
    from vdeblur.colour import frame_to_rgb
    import av

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        synthetic_clip(clip, a.frames, w, h)
        with av.open(str(clip)) as c:
            frames = [frame_to_rgb(f) for f in c.decode(video=0)]
        deblur_file(str(clip), str(Path(tmp) / "warm.mp4"), model=a.model, backend=a.backend,
                    precision=a.precision, overwrite=True, max_frames=10)       # ONNX export, quantization
        s = deblur_file(str(clip), str(Path(tmp) / "out.mp4"), model=a.model, backend=a.backend,
                        precision=a.precision, overwrite=True)
    run_fps = s["frames_out"] / s["wall_s"]

    Gst.init(None)
    pipe = Gst.parse_launch(f"appsrc name=src format=time caps=video/x-raw,format=RGB,width={w},height={h},"
                            f"framerate=30/1 ! vdeblur model={a.model} backend={a.backend} precision={a.precision} "
                            f"! appsink name=sink sync=false")
    src, sink = pipe.get_by_name("src"), pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    period = Gst.SECOND // 30
    lat = []

    def push_pull(i: int, rgb: np.ndarray) -> None:
        buf = Gst.Buffer.new_wrapped(rgb.tobytes())
        buf.pts, buf.duration = i * period, period
        t0 = time.perf_counter()
        src.emit("push-buffer", buf)
        sink.emit("pull-sample")
        lat.append((time.perf_counter() - t0) * 1e3)

    for i in range(10):                  # warm-up: the element opens its backend on the first buffer
        push_pull(i, frames[i % len(frames)])
    lat.clear()
    t0 = time.perf_counter()
    for i, rgb in enumerate(frames):
        push_pull(i + 10, rgb)
    element_fps = len(frames) / (time.perf_counter() - t0)
    src.emit("end-of-stream")
    pipe.set_state(Gst.State.NULL)
    result = {"size": a.size, "frames": len(frames), "backend": a.backend, "precision": a.precision,
              "model": a.model, "vdeblur_run_fps": round(run_fps, 2), "element_fps": round(element_fps, 2),
              "ratio": round(element_fps / run_fps, 3),
              "element_latency_ms": {"p50": round(float(np.percentile(lat, 50)), 2),
                                     "p99": round(float(np.percentile(lat, 99)), 2)},
              "hardware": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
              "note": "vdeblur run decodes and encodes (x264); the element gets raw RGB and hands raw RGB on"}
    print(json.dumps(result, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
