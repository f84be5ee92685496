#!/usr/bin/env python3
"""Frames your application holds, deblurred by the `vdeblur` GStreamer element through appsrc/appsink.

    eval "$(vdeblur gst-env)"
    python3 examples/gst_appsrc.py [--frames 20] [--size 160x96] [--resize-at N] [--model small]

Run it with the Python that has GStreamer's bindings (Debian: python3-gi, python3-gst-1.0); `vdeblur gst-env`
puts vdeblur's own environment on its path. It pushes synthetic RGB frames with timestamps, pulls the
deblurred ones, and prints one line per frame: pts, size and the mean correction. --resize-at N changes
the frame size from frame N on (new caps: the element resets its recurrent state).
"""
from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import Gst, GstApp  # noqa: E402,F401

import numpy as np  # noqa: E402


def frame(i: int, w: int, h: int) -> np.ndarray:
    """A moving bar over a gradient: (h, w, 3) uint8 RGB."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 1] = np.linspace(0, 255, w, dtype=np.uint8)[None]
    x = (i * 5) % max(1, w - 12)
    img[:, x:x + 12, 0] = 255
    return img


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--size", default="96x64")
    ap.add_argument("--resize-at", type=int, default=0)
    ap.add_argument("--model", default="small")
    ap.add_argument("--backend", default="auto")
    a = ap.parse_args(argv)
    Gst.init(None)
    w, h = (int(v) for v in a.size.split("x"))
    pipe = Gst.parse_launch(f"appsrc name=src format=time ! vdeblur name=d model={a.model} backend={a.backend} "
                            f"! appsink name=sink sync=false")
    src, sink, element = pipe.get_by_name("src"), pipe.get_by_name("sink"), pipe.get_by_name("d")
    pipe.set_state(Gst.State.PLAYING)
    period = Gst.SECOND // 25
    for i in range(a.frames):
        if a.resize_at and i == a.resize_at:
            w, h = w * 2, h * 2
        caps = Gst.Caps.from_string(f"video/x-raw,format=RGB,width={w},height={h},framerate=25/1")
        if src.get_caps() is None or not src.get_caps().is_equal(caps):
            src.set_caps(caps)
        rgb = frame(i, w, h)
        buf = Gst.Buffer.new_wrapped(rgb.tobytes())
        buf.pts, buf.duration = i * period, period
        if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
            print("push failed", file=sys.stderr)
            return 1
        sample = sink.emit("pull-sample")
        out_buf, out_caps = sample.get_buffer(), sample.get_caps().get_structure(0)
        ow, oh = out_caps.get_value("width"), out_caps.get_value("height")
        ok, m = out_buf.map(Gst.MapFlags.READ)
        out = np.frombuffer(m.data, np.uint8)[:ow * oh * 3].reshape(oh, ow, 3).copy()
        out_buf.unmap(m)
        print(f"frame {i}: pts {out_buf.pts / Gst.SECOND:.3f} s, {ow}x{oh}, mean correction "
              f"{np.abs(out.astype(int) - rgb).mean():.2f}")
    src.emit("end-of-stream")
    pipe.get_bus().timed_pop_filtered(10 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    print(f"state resets: {element.resets}")
    pipe.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
