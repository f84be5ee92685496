"""Open a video input and decode it: a generator of frames (and of packets to remux untouched)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

import av
import numpy as np

from .errors import InputError

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def mask_url(url: str) -> str:
    """The URL with any password replaced, for logs: rtsp://user:***@host/..."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]+):[^@/]*@", r"\1:***@", url)


def is_url(s: str) -> bool:
    return bool(_URL.match(s))


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    time_base: Fraction
    rate: Fraction | None         # average frame rate, when known
    frames: int                   # frame count the container announces, 0 if unknown
    pix_fmt: str
    bit_depth: int
    codec: str
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int


@dataclass
class DecodedFrame:
    """One decoded picture: rgb (H, W, 3) uint8, pts in the input stream's time base."""

    rgb: np.ndarray
    pts: int
    index: int


class Source:
    """An opened input. Iterate `items()` for DecodedFrame objects and av.Packet objects of the streams in
    `passthrough` (audio, subtitles), in demux order."""

    def __init__(self, path: str):
        self.path = path
        self.decode_errors = 0
        self.error_detail: str | None = None
        if not is_url(path):
            if not os.path.exists(path):
                raise InputError(f"input not found: {path}")
            if os.path.isdir(path):
                raise InputError(f"input is a directory, not a video file: {path}")
            if not os.access(path, os.R_OK):
                raise InputError(f"input is not readable: {path}")
        try:
            self.container = av.open(path, mode="r")
        except av.error.FFmpegError as e:
            raise InputError(f"cannot open {mask_url(path)} as media: {e.strerror or e}") from None
        videos = [s for s in self.container.streams if s.type == "video"
                  and not (s.disposition & av.stream.Disposition.attached_pic)]
        if not videos:
            self.container.close()
            raise InputError(f"no video stream in {mask_url(path)}")
        self.video = videos[0]
        self.video.thread_type = "AUTO"
        self.passthrough = [s for s in self.container.streams if s.type in ("audio", "subtitle")]
        cc = self.video.codec_context
        if not cc.width or not cc.height:
            self.container.close()
            raise InputError(f"video stream of {mask_url(path)} has no frame size (corrupt header?)")
        fmt = cc.pix_fmt or "yuv420p"
        try:
            depth = max(c.bits for c in av.VideoFormat(fmt).components)
        except Exception:
            depth = 8
        self.info = VideoInfo(
            width=cc.width, height=cc.height, time_base=self.video.time_base or Fraction(1, 90000),
            rate=self.video.average_rate, frames=self.video.frames or 0, pix_fmt=fmt, bit_depth=depth,
            codec=cc.name, colorspace=int(cc.colorspace or 2), color_range=int(cc.color_range or 0),
            color_primaries=int(cc.color_primaries or 2), color_trc=int(cc.color_trc or 2))

    def _rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """RGB with the frame's own matrix and range (BT.601/BT.709 by size when unspecified)."""
        cs = int(frame.colorspace or 2)
        if cs in (0, 2, 3):  # RGB/unspecified/reserved: guess as players do
            cs = 1 if frame.height >= 720 else 5
        rng = int(frame.color_range or 0) or 1
        try:
            return frame.to_ndarray(format="rgb24", src_colorspace=cs, src_color_range=rng)
        except (ValueError, av.error.FFmpegError):
            return frame.to_ndarray(format="rgb24")

    def items(self, stop=None) -> Iterator[DecodedFrame | av.Packet]:
        """Demux and decode until the end, or until stop() is true. Decode errors are counted, not raised:
        `decode_errors` says how many packets could not be decoded."""
        streams = [self.video, *self.passthrough]
        index = 0
        last_pts = None
        step = None
        demux = self.container.demux(streams)
        while True:
            if stop is not None and stop():
                return
            try:
                packet = next(demux)
            except StopIteration:
                break
            except av.error.FFmpegError as e:
                self.decode_errors += 1
                self.error_detail = f"demuxing stopped: {e.strerror or e}"
                break
            if packet.stream.type != "video":
                if packet.dts is not None:
                    yield packet
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError as e:
                self.decode_errors += 1
                self.error_detail = f"{e.strerror or e}"
                continue
            for frame in frames:
                pts = frame.pts
                if pts is None or (last_pts is not None and pts <= last_pts):
                    # No or non-increasing timestamp (broken input): continue the sequence so the muxer
                    # accepts it and the frame is not lost.
                    pts = (last_pts or 0) + (step or 1) if last_pts is not None else 0
                if last_pts is not None:
                    step = pts - last_pts
                last_pts = pts
                yield DecodedFrame(self._rgb(frame), pts, index)
                index += 1

    def close(self) -> None:
        self.container.close()
