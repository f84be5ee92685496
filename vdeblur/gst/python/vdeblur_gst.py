"""The `vdeblur` GStreamer element: `... ! vdeblur ! ...` deblurs raw video in any pipeline.

Loaded by GStreamer's Python plugin loader from GST_PLUGIN_PATH/python/ (`eval "$(vdeblur gst-env)"` sets
it). A BaseTransform: one buffer in, one deblurred buffer of the same format out, timestamps and durations
passed through. RGB, BGR, RGBA, BGRA, RGBx, BGRx run directly; I420 and NV12 are converted exactly inside
(vdeblur.colour, the caps' own matrix and range). The network is causal: the recurrent state carries from
buffer to buffer and is reset on a caps change, a flush, a new segment and a discontinuity; it adds no
frames of latency, so the base class's answer to a latency query (upstream's figures) holds. Late buffers (QoS) are dropped by the base class when `qos` is on.
"""
from __future__ import annotations

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstBase", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, GObject, Gst, GstBase, GstVideo  # noqa: E402

import numpy as np  # noqa: E402

Gst.init(None)

FORMATS = ("RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "I420", "NV12")
CAPS = Gst.Caps.from_string(f"video/x-raw,format={{{','.join(FORMATS)}}},"
                            "width=[1,2147483647],height=[1,2147483647],framerate=[0/1,2147483647/1]")
# Where each packed format keeps R, G, B, and how many bytes a pixel takes.
PACKED = {"RGB": ((0, 1, 2), 3), "BGR": ((2, 1, 0), 3), "RGBA": ((0, 1, 2), 4), "RGBx": ((0, 1, 2), 4),
          "BGRA": ((2, 1, 0), 4), "BGRx": ((2, 1, 0), 4)}


class VdeblurElement(GstBase.BaseTransform):
    __gstmetadata__ = ("vdeblur", "Filter/Effect/Video", "Real-time video motion deblurring (recurrent network)",
                       "vdeblur")
    __gsttemplates__ = (Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, CAPS),
                        Gst.PadTemplate.new("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, CAPS))
    __gproperties__ = {
        "model": (str, "model", "shipped preset (small, base, sharp) or a .safetensors path", "small",
                  GObject.ParamFlags.READWRITE),
        "backend": (str, "backend", "auto, onnxruntime, openvino, torch, tensorrt", "auto",
                    GObject.ParamFlags.READWRITE),
        "precision": (str, "precision", "auto, fp32, fp16, int8", "auto", GObject.ParamFlags.READWRITE),
        "device": (str, "device", "auto, cpu, cuda, cuda:N (torch backend)", "auto", GObject.ParamFlags.READWRITE),
        "tile": (int, "tile", "run frames as tiles of at most N px, each with its own state (0: whole frames)",
                 0, 1 << 15, 0, GObject.ParamFlags.READWRITE),
        "threads": (int, "threads", "CPU inference threads (0: the library's default)", 0, 1024, 0,
                    GObject.ParamFlags.READWRITE),
        "scene-cut": (bool, "scene-cut", "reset the recurrent state at detected scene cuts", True,
                      GObject.ParamFlags.READWRITE),
    }

    def __init__(self):
        super().__init__()
        self.settings = {"model": "small", "backend": "auto", "precision": "auto", "device": "auto", "tile": 0,
                         "threads": 0, "scene-cut": True}
        self.deblurrer = None
        self.info = None
        self.resets = 0
        self.set_qos_enabled(True)

    def do_get_property(self, prop):
        return self.settings[prop.name]

    def do_set_property(self, prop, value):
        self.settings[prop.name] = value
        self._close()           # a new network or backend opens with the next buffer

    # --- life cycle -----------------------------------------------------------------------------------
    def do_start(self):
        return True

    def do_stop(self):
        self._close()
        return True

    def _close(self):
        if self.deblurrer is not None:
            self.deblurrer.backend.close()
            self.deblurrer = None

    def _open(self, h: int, w: int):
        from vdeblur.backends import open_backend
        from vdeblur.config import ModelConfig, Precision
        from vdeblur.deblurrer import Deblurrer

        s = self.settings
        cfg = ModelConfig(spec=s["model"], backend=s["backend"], device=s["device"],
                          precision=Precision(s["precision"]), threads=s["threads"])
        self.deblurrer = Deblurrer(open_backend(cfg, size=(h, w)), scene_cut=s["scene-cut"],
                                   tile=s["tile"] or None)

    def reset(self):
        if self.deblurrer is not None:
            self.deblurrer.reset()
        self.resets += 1

    # --- negotiation and events ---------------------------------------------------------------------------
    def do_set_caps(self, incaps, outcaps):
        self.info = GstVideo.VideoInfo.new_from_caps(incaps)
        self.reset()            # another size or format: the past is another picture
        return True

    def do_transform_caps(self, direction, caps, filter_):
        result = caps.copy()
        if filter_ is not None:
            result = filter_.intersect_full(result, Gst.CapsIntersectMode.FIRST)
        return result

    def do_sink_event(self, event):
        if event.type in (Gst.EventType.FLUSH_STOP, Gst.EventType.SEGMENT):
            self.reset()
        return GstBase.BaseTransform.do_sink_event(self, event)

    # --- frames ---------------------------------------------------------------------------------------------
    def do_transform(self, inbuf, outbuf):
        info = self.info
        fmt = info.finfo.name
        w, h = info.width, info.height
        if inbuf.has_flags(Gst.BufferFlags.DISCONT):
            self.reset()
        if self.deblurrer is None:
            try:
                self._open(h, w)
            except Exception as e:  # noqa: BLE001 - an element reports, it never raises into GStreamer
                Gst.error(f"vdeblur: {e}")
                self.post_message(Gst.Message.new_error(self, GLib.Error(str(e)), str(e)))
                return Gst.FlowReturn.ERROR
        ok_in, src = inbuf.map(Gst.MapFlags.READ)
        ok_out, dst = outbuf.map(Gst.MapFlags.WRITE)
        try:
            rgb = self._to_rgb(np.frombuffer(src.data, np.uint8), fmt, w, h)
            out = self.deblurrer.process(rgb)
            self._from_rgb(out, np.frombuffer(dst.data, np.uint8), fmt, w, h)
        except Exception as e:  # noqa: BLE001
            Gst.error(f"vdeblur: {e}")
            self.post_message(Gst.Message.new_error(self, GLib.Error(str(e)), str(e)))
            return Gst.FlowReturn.ERROR
        finally:
            inbuf.unmap(src)
            outbuf.unmap(dst)
        return Gst.FlowReturn.OK

    def _planes(self, data: np.ndarray, fmt: str, w: int, h: int):
        info = self.info
        if fmt == "I420":
            return [data[info.offset[i]:info.offset[i] + info.stride[i] * ph].reshape(ph, info.stride[i])[:, :pw]
                    for i, (pw, ph) in enumerate(((w, h), ((w + 1) // 2, (h + 1) // 2), ((w + 1) // 2, (h + 1) // 2)))]
        # NV12: luma, then interleaved UV
        y = data[info.offset[0]:info.offset[0] + info.stride[0] * h].reshape(h, info.stride[0])[:, :w]
        ch = (h + 1) // 2
        uv = data[info.offset[1]:info.offset[1] + info.stride[1] * ch].reshape(ch, info.stride[1])[:, :2 * ((w + 1) // 2)]
        return [y, uv]

    def _spec(self, fmt: str):
        from vdeblur.colour import ColourSpec

        c = self.info.colorimetry
        matrix = {GstVideo.VideoColorMatrix.BT709: 1, GstVideo.VideoColorMatrix.BT601: 6,
                  GstVideo.VideoColorMatrix.BT2020: 9}.get(c.matrix)
        # GstVideoColorRange: 1 is 0-255 (full), 2 is 16-235 (limited); FFmpeg counts the other way round.
        rng = {1: 2, 2: 1}.get(int(c.range))
        return ColourSpec.of(matrix, rng, "yuv420p", self.info.height)

    def _to_rgb(self, data: np.ndarray, fmt: str, w: int, h: int) -> np.ndarray:
        if fmt in PACKED:
            order, bpp = PACKED[fmt]
            stride = self.info.stride[0]
            px = data[:stride * h].reshape(h, stride)[:, :w * bpp].reshape(h, w, bpp)
            return np.ascontiguousarray(px[..., list(order)])
        from vdeblur.colour import yuv_to_rgb

        planes = self._planes(data, fmt, w, h)
        if fmt == "I420":
            y, u, v = planes
        else:
            y, u, v = planes[0], planes[1][:, 0::2], planes[1][:, 1::2]
        return yuv_to_rgb(y, u, v, self._spec(fmt), 8, (1, 1))

    def _from_rgb(self, rgb: np.ndarray, out: np.ndarray, fmt: str, w: int, h: int) -> None:
        if fmt in PACKED:
            order, bpp = PACKED[fmt]
            stride = self.info.stride[0]
            px = out[:stride * h].reshape(h, stride)[:, :w * bpp].reshape(h, w, bpp)
            for i, c in enumerate(order):
                px[..., c] = rgb[..., i]
            if bpp == 4:
                px[..., 3] = 255
            return
        from vdeblur.colour import rgb_to_yuv

        if w % 2 or h % 2:      # 4:2:0 at an odd size: chroma as the exact 4:4:4 result, subsampled by the pad
            rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        y, u, v = rgb_to_yuv(rgb, self._spec(fmt), 8, (1, 1))
        planes = self._planes(out, fmt, w, h)
        planes[0][:] = y[:h, :w]
        if fmt == "I420":
            planes[1][:] = u
            planes[2][:] = v
        else:
            planes[1][:, 0::2] = u
            planes[1][:, 1::2] = v


GObject.type_register(VdeblurElement)
__gstelementfactory__ = ("vdeblur", Gst.Rank.NONE, VdeblurElement)
