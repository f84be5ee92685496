"""Open a video input and decode it: a generator of frames (and of packets to remux untouched)."""
from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from .colour import frame_to_rgb
from .errors import InputError
from .urls import is_url, mask_url, pipe_target

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
    display_matrix: tuple[int, ...] | None = None   # 9 int32 (FFmpeg's layout): rotation/flip for players
    duration_s: float | None = None                  # the video stream's duration, as the container announces
    sar: Fraction | None = None                      # sample (pixel) aspect ratio, where not square
    hdr: tuple[tuple[str, str], ...] = ()            # HDR side data in x265's words: master-display, max-cll


LIVE_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "udp", "rtp", "srt", "tcp")

log = logging.getLogger("vdeblur")


IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
# Files taken as videos where a folder is given (vdeblur batch, int8 calibration): the one list.
VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".ts", ".m2ts", ".mts", ".webm", ".m4v", ".flv", ".mpg",
                            ".mpeg", ".wmv", ".3gp"})
_FIELD = re.compile(r"%0?(\d*)d")


def image_sequence(path: str) -> tuple[Path, list[Path], int] | None:
    """(folder, its images in order, the first number) for a pattern such as frames/%06d.png (one %d
    field), else None.
    InputError when the pattern matches no file."""
    p = Path(path)
    if p.suffix.lower() not in IMAGE_SUFFIXES or len(_FIELD.findall(p.name)) != 1 or is_url(path):
        return None
    head, tail = _FIELD.split(p.name, maxsplit=1)[0], _FIELD.split(p.name, maxsplit=1)[-1]
    folder = p.parent if str(p.parent) else Path(".")
    found = sorted((int(q.name[len(head):len(q.name) - len(tail)]), q) for q in (folder.glob(head + "*" + tail)
                   if folder.is_dir() else []) if q.name[len(head):len(q.name) - len(tail)].isdigit())
    if not found:
        raise InputError(f"no images match {path}")
    return folder, [q for _, q in found], found[0][0]


def _check_readable(path: str) -> None:
    if not os.path.exists(path):
        raise InputError(f"input not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"input is a directory, not a video file: {path}")
    if not os.access(path, os.R_OK):
        raise InputError(f"input is not readable: {path}")


def is_live(path: str, input_format: str | None = None) -> bool:
    """Sources that do not wait for us: streams and capture devices (http(s) may be a plain file: not live)."""
    if input_format in ("v4l2", "video4linux2", "avfoundation", "dshow", "x11grab", "kmsgrab", "lavfi"):
        return True
    if path.startswith("/dev/video"):
        return True
    return is_url(path) and path.split(":", 1)[0].lower() in LIVE_SCHEMES


_TRUNCATION_MARKERS = ("File ended prematurely", "partial file", "Truncating packet", "truncated")


def _ts_size(path: str) -> tuple[int, int] | None:
    """(file size, packet size) of an MPEG-TS file: 188 bytes, 192 (M2TS: a 4-byte prefix) or 204 (with
    Reed-Solomon bytes), told by where the 0x47 sync bytes repeat; None when it is none of them."""
    with open(path, "rb") as f:
        head = f.read(204 * 4 + 4)
    for size, first in ((188, 0), (192, 4), (204, 0)):
        if len(head) >= first + 3 * size + 1 and all(head[first + k * size] == 0x47 for k in range(4)):
            return os.path.getsize(path), size
    return None


def _libav_errors_to_capture() -> None:
    """FFmpeg's messages reach av.logging.Capture only when PyAV's log level is set (PyAV's default is
    none). Errors are enough for the truncation markers; unless the user already chose a level, they go to
    a silent `libav` logger, so nothing new is printed."""
    import logging as _logging

    if av.logging.get_level() is None:
        quiet = _logging.getLogger("libav")
        quiet.propagate = False
        if not quiet.handlers:
            quiet.addHandler(_logging.NullHandler())
        av.logging.set_level(av.logging.ERROR)
        # PyAV drops a message equal to the one before it, even across files: the same truncation in two
        # files read by one process would be seen once.
        av.logging.set_skip_repeated(False)


class ConnectionLost(Exception):
    """A live source stopped delivering (read error, timeout or end of stream)."""


@dataclass
class DecodedFrame:
    """One decoded picture: rgb (H, W, 3) uint8, pts in the source's output time base.

    received: time.perf_counter() when its packet arrived. segment: increases after each reconnect
    (the recurrent state must be reset when it changes).
    """

    rgb: np.ndarray
    pts: int
    index: int
    received: float = 0.0
    segment: int = 0
    warm: bool = False      # run through the network to warm its state, not written (timerange.RangedSource)


class Source:
    """An opened input. Iterate `items()` for DecodedFrame objects and av.Packet objects of the streams in
    `passthrough` (audio, subtitles), in demux order."""

    reconnects = 0      # a file never reconnects (vdeblur.inputs.VideoSource)
    _hdr_meta: tuple[tuple[str, str], ...] = ()     # the first frame's HDR side data (_hdr)

    def __init__(self, path: str, options: dict | None = None, input_format: str | None = None,
                 timeout: float | tuple[float, float] | None = None, rate: Fraction | None = None,
                 read_ahead: bool = True, thread_type: str = "AUTO"):
        """rate: the frame rate of an image sequence without a timestamps.csv (default 25). read_ahead:
        decode up to the first frame now (its display matrix; a pipe is read once); False for a reader that
        only wants `info`. thread_type: AUTO (frame and slice threads) or SLICE (live: none held back)."""
        self.path = path
        self._read_timeout = timeout[1] if isinstance(timeout, tuple) else (timeout or 0)
        self.raw_pts = False              # True: frames keep the input's pts as they are (vdeblur.live re-times)
        self.decode_errors = 0            # packets that were damaged or could not be decoded
        self.error_detail: str | None = None
        self._last_pts: int | None = None
        self._step: int | None = None
        self.ended_early: str | None = None    # the demuxer's own words when the file ends too soon
        self._decoder_complaint: str | None = None
        self._video_packets = 0
        self._steps: dict[int, int] = {}       # pts step -> how often: the frame period of CFR video
        self._index = 0
        self._stream: Iterator | None = None   # the one demux generator, read ahead and continued by items()
        self._pending: list = []                # what the read-ahead demuxed, for items() to give first
        self._matrix: tuple[int, ...] | None = None
        self._first_seen = False
        self._stop, self._live, self._logs = None, False, None
        self._flagged = 0                       # packets only the demuxer flagged corrupt
        _libav_errors_to_capture()
        pipe = pipe_target(path, 0)
        self._pts_map: list[int] | None = None      # an image sequence's timestamps.csv: pts per frame
        sequence = image_sequence(path) if pipe is None and input_format is None else None
        if sequence is not None:
            if (options or {}).get("framerate"):
                rate = Fraction(options["framerate"])
            input_format = "image2"
            options = {**(options or {}), "framerate": str(rate or 25), "start_number": str(sequence[2])}
        elif pipe is None and not is_url(path) and input_format is None:
            _check_readable(path)
        try:
            self.container = av.open(pipe or path, mode="r", format=input_format, options=options or {},
                                     timeout=timeout)
        except av.error.FFmpegError as e:
            raise InputError(f"cannot open {mask_url(path)} as media: {e.strerror or e}") from None
        videos = [s for s in self.container.streams if s.type == "video"
                  and not (s.disposition & av.stream.Disposition.attached_pic)]
        if not videos:
            self.container.close()
            raise InputError(f"no video stream in {mask_url(path)}")
        self.video = videos[0]
        self.video.thread_type = thread_type
        self.passthrough = [s for s in self.container.streams if s.type in ("audio", "subtitle")]
        # What is neither the video we deblur nor passed through (a second video, data, attachments).
        self.left_out = [s for s in self.container.streams if s is not self.video and s not in self.passthrough]
        cc = self.video.codec_context
        if cc is None:
            self.container.close()
            raise InputError(f"video stream of {mask_url(path)} has no decoder here (unknown codec or damaged header)")
        if not cc.width or not cc.height:
            self.container.close()
            raise InputError(f"video stream of {mask_url(path)} has no frame size (corrupt header?)")
        fmt = cc.pix_fmt or "yuv420p"
        self._codec = cc.name
        try:
            depth = max(c.bits for c in av.VideoFormat(fmt).components)
        except Exception:
            depth = 8
        self._format = self.container.format.name
        # MPEG-TS announces no length; a file cut short usually ends inside a packet.
        self._ts_size = (_ts_size(path) if self.container.format.name == "mpegts" and not is_url(path)
                         and input_format is None and os.path.isfile(path) else None)
        # Read now: a closed container's streams no longer hold their fields (shortfall() runs after close).
        self._start_s = float(self.video.start_time * self.video.time_base) if self.video.start_time else 0.0
        self.info = VideoInfo(
            width=cc.width, height=cc.height, time_base=self.video.time_base or Fraction(1, 90000),
            rate=self.video.average_rate, frames=self.video.frames or 0, pix_fmt=fmt, bit_depth=depth,
            codec=cc.name, colorspace=int(cc.colorspace or 2), color_range=int(cc.color_range or 0),
            color_primaries=int(cc.color_primaries or 2), color_trc=int(cc.color_trc or 2),
            display_matrix=(None if is_url(path) or (input_format and not pipe) or not read_ahead
                            else self._read_ahead()),
            duration_s=self._announced_duration())
        self._carry_picture(cc)
        if sequence is not None:
            self._sequence_timing(sequence, rate)

    def _carry_picture(self, cc) -> None:
        """What describes the picture beyond its pixels, for the sink: the pixel aspect ratio and HDR side
        data (read from the first frame)."""
        sar = getattr(cc, "sample_aspect_ratio", None)
        if sar and sar != 1:        # non-square pixels: the output keeps them (sinks.video)
            self.info = replace(self.info, sar=Fraction(sar))
        if self._hdr_meta:
            self.info = replace(self.info, hdr=self._hdr_meta)

    def _sequence_timing(self, sequence: tuple[Path, list[Path], int], rate: Fraction | None) -> None:
        """The timestamps.csv vdeblur writes beside its image sequences gives each frame its pts and the
        time base back (VFR included), unless a rate was given; else frames are 1/rate apart."""
        folder, images, _ = sequence
        times = folder / "timestamps.csv"
        self.info = replace(self.info, frames=len(images))
        if rate is not None or not times.exists():
            return
        rows = [line.split(",") for line in times.read_text().splitlines()[1:] if line.strip()]
        try:
            pts = [int(r[1]) for r in rows]
            secs = [float(r[2]) for r in rows]
        except (IndexError, ValueError):
            raise InputError(f"{times} is not the frame,pts,seconds table vdeblur writes") from None
        if len(pts) != len(images):
            log.warning(f"warning: {times} lists {len(pts)} frames, the folder holds {len(images)}: "
                        f"ignored, frames are 1/{float(self.info.rate or 25):g} s apart")
            return
        k = max(range(len(pts)), key=lambda i: abs(pts[i]))
        tb = (Fraction(secs[k]).limit_denominator(1_000_000) / pts[k]).limit_denominator(1 << 30) if pts[k] else \
            self.info.time_base
        self._pts_map = pts
        span = secs[-1] - secs[0]
        rate_est = Fraction((len(pts) - 1) / span).limit_denominator(1001) if span > 0 else self.info.rate
        self.info = replace(self.info, time_base=tb, rate=rate_est)

    def _read_ahead(self) -> tuple[int, ...] | None:
        """Demux and decode up to the first video frame, kept for items(), and return that frame's display
        matrix (a phone's rotation: PyAV exposes it on frames, not streams). The input is opened once, so
        pipes and FIFOs lose nothing."""
        with av.logging.Capture(local=False) as logs:
            for item in self._generator():
                self._pending.append(item)
                if isinstance(item, DecodedFrame):
                    break
        self._scan(logs)
        return self._matrix

    @staticmethod
    def _hdr(frame: av.VideoFrame) -> tuple[tuple[str, str], ...]:
        """The frame's HDR side data as x265 parameters: master-display "G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)"
        (chromaticity in 0.00002 units, luminance in 0.0001 cd/m2) and max-cll "MaxCLL,MaxFALL"; with a
        warning for PQ/HLG input, which is deblurred at 8 bits."""
        import struct

        kinds, found = av.sidedata.sidedata.Type, []
        md = frame.side_data.get(kinds.MASTERING_DISPLAY_METADATA) if hasattr(kinds, "MASTERING_DISPLAY_METADATA") else None
        cll = frame.side_data.get(kinds.CONTENT_LIGHT_LEVEL) if hasattr(kinds, "CONTENT_LIGHT_LEVEL") else None
        try:
            if md is not None:
                v = struct.unpack("<20i2i", bytes(md)[:88])
                q = [v[2 * i] / v[2 * i + 1] if v[2 * i + 1] else 0.0 for i in range(10)]   # R G B WP min max
                xy = lambda i: f"({round(q[i] * 50000)},{round(q[i + 1] * 50000)})"  # noqa: E731
                if v[20] and v[21]:     # has_primaries, has_luminance
                    found.append(("master-display", f"G{xy(2)}B{xy(4)}R{xy(0)}WP{xy(6)}"
                                                    f"L({round(q[9] * 10000)},{round(q[8] * 10000)})"))
            if cll is not None:
                found.append(("max-cll", "{},{}".format(*struct.unpack("<2I", bytes(cll)[:8]))))
        except (struct.error, ZeroDivisionError):
            pass
        if found or int(frame.color_trc or 0) in (16, 18):      # PQ, HLG
            log.warning("warning: HDR input: it is deblurred at 8 bits per channel (PQ/HLG values as coded, "
                        "tags kept)" + ("; its mastering-display and light-level metadata are written by "
                                        "--codec libx265 only" if found else ""))
        return tuple(found)

    @staticmethod
    def _display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
        import struct

        sd = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
        if sd is None:
            return None
        try:
            m = struct.unpack("<9i", bytes(sd)[:36])
        except struct.error:
            return None
        return None if m == (65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30) else m

    def seek(self, pts: int) -> None:
        """Continue from the keyframe at or before `pts` (the video stream's time base); what was read
        ahead is dropped. Raises av.error.FFmpegError where the input cannot seek."""
        if self._stream is not None:
            self._stream.close()
        self._stream, self._pending = None, []
        self.container.seek(pts, stream=self.video, backward=True, any_frame=False)
        self._index, self._last_pts, self._step, self._steps = 0, None, None, {}

    def side_packets(self) -> Iterator[av.Packet]:
        """Only the audio/subtitle packets (`passthrough`), in demux order from the start, video left
        undecoded: for a join that takes its video from elsewhere. Use instead of items()."""
        pending, self._pending = self._pending, []
        yield from (p for p in pending if isinstance(p, av.Packet))
        if self.passthrough:
            yield from (p for p in self.container.demux(self.passthrough) if p.dts is not None)

    def _generator(self) -> Iterator[DecodedFrame | av.Packet]:
        if self._stream is None:
            self._stream = self._demux()
        return self._stream

    def _announced_duration(self) -> float | None:
        """The video stream's own duration in seconds where the container states it in its header (MP4,
        AVI: the stream's duration; Matroska: the DURATION tag). Not the container's duration, which
        also covers audio, and not an MPEG-TS estimate from the bitrate."""
        v = self.video
        if self.container.format.name == "mpegts" or is_url(self.path):
            return None
        if v.duration and v.time_base:
            return float(v.duration * v.time_base)
        tag = (v.metadata or {}).get("DURATION")
        if tag:
            try:
                h, m, sec = tag.split(":")
                return int(h) * 3600 + int(m) * 60 + float(sec)
            except ValueError:
                return None
        return None

    @property
    def start_s(self) -> float:
        """Where the video stream starts (s): time ranges count from here, as FFmpeg's -ss does."""
        return self._start_s

    def shortfall(self, decoded: int) -> str | None:
        """Why the input looks cut short, or None: fewer frames decoded than the container announces (frame
        count, else the video stream's duration, with half a frame of tolerance), or an MPEG-TS file that
        ends inside a packet. (A TS file cut exactly at a packet boundary cannot be told from a short one.)"""
        if self._ts_size is not None and self._ts_size[0] % self._ts_size[1]:
            return f"the file ends inside an MPEG-TS packet ({self._ts_size[0]} bytes)"
        # Fewer frames than announced counts only when fewer packets came too (an MP4 edit list may cut a
        # frame that was read). AVI's count and duration may include one chunk FFmpeg never returns: one
        # frame of slack there.
        slack = 1 if self._format == "avi" else 0
        if self.info.frames and decoded < self.info.frames - slack and self._video_packets < self.info.frames - slack:
            return f"{decoded} of the {self.info.frames} frames the container announces were decoded"
        # A container with an index (MP4's sample table) counts its frames: when they all came, gaps in the
        # timeline are the file's own timing (frames dropped at capture), not damage.
        indexed_complete = bool(self.info.frames) and decoded >= self.info.frames - slack
        if self.info.duration_s and self._last_pts is not None and not indexed_complete:
            tb = float(self.info.time_base)
            modal, count = max(self._steps.items(), key=lambda kv: kv[1], default=(0, 0))
            step = modal * tb or (1 / float(self.info.rate) if self.info.rate else 0.04)
            # Containers disagree on whether the duration counts from 0 (Matroska's DURATION tag) or from the
            # first frame (MP4): judge by the reading that makes the input look longest, never shorter.
            end = self._last_pts * tb + step
            announced = self.info.duration_s - slack * step
            if end < announced - 0.5 * step - 1e-3:
                return (f"the video ends at {end:.2f} s of the {self.info.duration_s:.2f} s the container "
                        f"announces")
            # Constant-rate video (>= 75 % of the steps equal) that is missing frames inside, not at the end.
            # Half a frame of tolerance: an edit list (a copy cut at -ss) may end the duration mid-frame.
            expected = (announced - self._start_s) / step
            if count >= max(4, 0.75 * sum(self._steps.values())) and decoded < expected - 0.5 - 1e-6:
                return (f"{decoded} frames where the {self.info.duration_s:.2f} s the container announces hold "
                        f"{round(expected)} at one per {step * 1e3:.0f} ms")
        if self.ended_early:
            return f"the demuxer says: {self.ended_early}"
        return None

    def _rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """RGB with the frame's own matrix, range and chroma siting (BT.601/BT.709 by size when unspecified),
        converted exactly: vdeblur.colour."""
        return frame_to_rgb(frame, self._codec)

    def items(self, stop=None, live: bool = False) -> Iterator[DecodedFrame | av.Packet]:
        """Demux and decode until the end, or until stop() is true. Damage is counted, not raised:
        `decode_errors` says how many packets were flagged corrupt (by the demuxer or the decoder, which
        with frame threading often reports no error) or could not be decoded. live: a read error or the end
        of the stream raises ConnectionLost instead."""
        self._stop, self._live = stop, live
        if live:
            yield from self._drain()
            return
        # The demuxers say "File ended prematurely" (Matroska) or "partial file" (MP4) only in their log.
        with av.logging.Capture(local=False) as logs:   # decoder threads log too
            self._logs = logs
            try:
                yield from self._drain()
            finally:
                self._logs = None
        self._scan(logs)
        # An error the decoder only logged (a missing reference, a bad NAL unit: with frame threading no
        # packet or frame is flagged) means concealed or lost pictures: counted as damage, as many as the
        # packets that gave no frame, at least one.
        stopped = stop is not None and stop()
        if self._decoder_complaint and not stopped:
            self.decode_errors += max(1, self._video_packets - self._index)
            self.error_detail = self.error_detail or f"decoder: {self._decoder_complaint}"
        if self._flagged and not stopped and (self._decoder_complaint or self._video_packets > self._index):
            self.decode_errors += self._flagged
            self.error_detail = self.error_detail or "corrupt data"

    def _drain(self) -> Iterator[DecodedFrame | av.Packet]:
        """What was read ahead, then the rest of the one demux generator."""
        while self._pending:
            if self._stop is not None and self._stop():
                return
            yield self._pending.pop(0)
        yield from self._generator()

    def _demux(self) -> Iterator[DecodedFrame | av.Packet]:
        """The input's packets and decoded frames; reads self._stop, _live and _logs at each step (items()
        sets them), so one generator serves the read-ahead and items()."""
        demux = self.container.demux([self.video, *self.passthrough])
        while True:
            stop, live, logs = self._stop, self._live, self._logs
            if stop is not None and stop():
                return
            try:
                packet = next(demux)
            except StopIteration:       # demux() has already sent the decoder's flush packet
                if live:
                    raise ConnectionLost("end of stream") from None
                return
            except av.error.FFmpegError as e:
                if live:
                    if isinstance(e, av.error.ExitError):   # FFmpeg's words for our read timeout
                        raise ConnectionLost(f"no data for {self._read_timeout:g} s") from None
                    raise ConnectionLost(e.strerror or str(e)) from None
                self.decode_errors += 1
                self.error_detail = f"demuxing stopped: {e.strerror or e}"
                return
            if logs is not None and len(logs) > 256:   # a badly damaged long file logs without end
                self._scan(logs)
                logs.clear()
            if packet.stream.type != "video":
                if packet.dts is not None:
                    yield packet
                continue
            self._video_packets += packet.size > 0
            yield from self._decoded(packet)

    def _scan(self, logs: list) -> None:
        codec = self.video.codec_context.name
        for level, name, message in logs:
            if any(marker in message for marker in _TRUNCATION_MARKERS):
                self.ended_early = message.strip()
            elif name == codec and level <= av.logging.ERROR and self._decoder_complaint is None:
                self._decoder_complaint = message.strip()

    def _decoded(self, packet: av.Packet) -> Iterator[DecodedFrame]:
        """The frames one packet gives, with pts that always increase."""
        received = time.perf_counter()
        try:
            frames = packet.decode()
        except av.error.FFmpegError as e:
            self.decode_errors += 1
            self.error_detail = f"{e.strerror or e}"
            return
        if any(f.is_corrupt for f in frames) or (packet.is_corrupt and self._live):
            self.decode_errors += 1
            self.error_detail = "corrupt data"
        elif packet.is_corrupt:
            # The demuxer's flag alone (an MPEG-TS continuity break where two files were joined) is damage
            # only if the decoder then complains or pictures go missing: judged at the end (items()).
            self._flagged += 1
        for frame in frames:
            if self._pts_map is not None and self._index < len(self._pts_map):
                frame.pts = self._pts_map[self._index]
            if not self._first_seen:
                self._first_seen = True
                self._matrix = self._display_matrix(frame)
                self._hdr_meta = self._hdr(frame)
                if frame.interlaced_frame:
                    log.warning("warning: the input is interlaced; it is deblurred and written as progressive "
                                "frames (deinterlace it first for the best result, e.g. ffmpeg -vf bwdif)")
            pts, last = frame.pts, self._last_pts
            if self.raw_pts:
                yield DecodedFrame(self._rgb(frame), pts, self._index, received)
                self._index += 1
                continue
            if pts is None or (last is not None and pts <= last):
                # No or non-increasing timestamp (broken input): continue the sequence so the muxer
                # accepts it and the frame is not lost.
                pts = last + (self._step or 1) if last is not None else 0
            if last is not None:
                self._step = pts - last
                if self._step in self._steps or len(self._steps) < 64:   # beyond 64 kinds: VFR anyway
                    self._steps[self._step] = self._steps.get(self._step, 0) + 1
            self._last_pts = pts
            yield DecodedFrame(self._rgb(frame), pts, self._index, received)
            self._index += 1

    def close(self) -> None:
        """Stop the demux generator and flush the decoder before closing: a frame-threaded decoder freed
        with pictures still in its threads can wait for ever (seen when a reader stops mid-stream)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self._pending = []
        try:
            if self.video.codec_context is not None:
                self.video.codec_context.flush_buffers()
        except (av.error.FFmpegError, ValueError, AttributeError):
            pass
        self.container.close()
