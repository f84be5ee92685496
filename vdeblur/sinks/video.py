"""Video sinks: encode and mux to a file (audio/subtitle packets remuxed untouched, text subtitles converted
where the container needs another format, written to a temporary file beside the output and renamed into
place only when closed) or push to a stream URL or a pipe. The encoder's checks are encode.py's, the
remuxing rules remux.py's."""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..colour import ColourSpec, rgb_to_frame
from ..config import EncodeConfig
from ..errors import OutputError, UsageError
from ..source import VideoInfo
from ..urls import is_url, mask_url, pipe_target
from .. import files
from .encode import check_encode, choose_pix_fmt
from .remux import REMUX_AUDIO, TEXT_SUBTITLE_FOR, TEXT_SUBTITLES, audio_specific_config, strip_adts

log = logging.getLogger("vdeblur")

STREAM_FORMATS = {"rtsp": "rtsp", "rtsps": "rtsp", "rtmp": "flv", "rtmps": "flv", "udp": "mpegts",
                  "srt": "mpegts", "tcp": "mpegts", "rtp": "rtp_mpegts"}


# Containers a pipe can carry (they never seek back), and those that hold raw frames (no encoder).
PIPE_FORMATS = ("nut", "matroska", "mpegts", "yuv4mpegpipe", "rawvideo", "flv", "avi", "webm")


def check_pipe_output(input_path: str, output: str, overwrite: bool) -> str:
    """`-` or `pipe:N` as OUTPUT: FFmpeg's pipe protocol (standard output for `-`)."""
    return pipe_target(output, 1)


def check_video_output(input_path: str, output: str, overwrite: bool) -> Path | str:
    """Validate the destination before any work starts; returns it as a Path (or the URL of a stream)."""
    if is_url(output):
        scheme = output.split(":", 1)[0].lower()
        if scheme not in STREAM_FORMATS:
            raise OutputError(f"cannot stream to {scheme}:// (supported: {', '.join(sorted(STREAM_FORMATS))})")
        if output == input_path:
            raise OutputError("output is the same as the input")
        return output
    from ..paths import Written, check_written

    out = Path(output)
    # Identity, folder, name length, -y: the one rule every written path follows (vdeblur.paths).
    check_written([input_path], [Written("output", output)], overwrite)
    if not out.suffix:
        raise OutputError(f"output needs a file extension to choose a container: {out}")
    if FileSink.format_for(out) is None:
        try:
            av.format.ContainerFormat(out.suffix[1:], "w")
        except ValueError:
            raise OutputError(f"no container for the extension {out.suffix} (try .mp4, .mkv, .mov)") from None
    files.remove_stale(out)
    others = files.claimed_by(out)
    if others:
        raise OutputError(f"{out} is being written by another process (PID {others[0]}); choose another output "
                          f"(or delete its hidden .partial file if that process is gone)")
    return out


def fit(rgb: np.ndarray, h: int, w: int) -> np.ndarray:
    """(H', W', 3) uint8 scaled to fit (h, w) with its aspect kept, centred on black."""
    import cv2

    scale = min(h / rgb.shape[0], w / rgb.shape[1])
    nh, nw = max(1, round(rgb.shape[0] * scale)), max(1, round(rgb.shape[1] * scale))
    small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - nh) // 2, (w - nw) // 2
    out[y:y + nh, x:x + nw] = small
    return out


class FileSink:
    """Owns the temporary output file from open to close/abort."""

    def __init__(self, output: Path | str, info: VideoInfo, enc: EncodeConfig, width: int, height: int,
                 passthrough: list[av.stream.Stream], live: bool = False, overwrite: bool = True,
                 left_out: list[av.stream.Stream] = (), video_from: av.stream.Stream | None = None):
        """live: low-latency encoding (x264 tune=zerolatency) and, for MP4 files, fragmented output so a
        crash leaves a playable temporary file. A URL output is streamed directly (no temporary file).
        overwrite: whether close() may replace a file that appeared at the output meanwhile. left_out:
        input streams the pipeline does not carry (named in a warning). video_from: an encoded video
        stream to copy (no encoder): its packets come through write_video_packet (vdeblur batch joins
        chunks so)."""
        options = check_encode(enc)
        pix_fmt, note = choose_pix_fmt(enc.codec, enc.pix_fmt, width, height)
        if note:
            log.info(note)
        self.info = info
        self.frames = 0
        self.packets_dropped = 0
        self._last_dts: dict[int, int] = {}
        self.tmp: Path | None = None
        self.final = output
        self.overwrite = overwrite
        target, fmt, live, container_opts = self._target(output, enc, live)
        try:
            self.container = av.open(target, mode="w", format=fmt, options=container_opts)
            # An unknown average rate gets a nominal one; the timestamps still come from the input.
            rate = info.rate or Fraction(30, 1)
            self.encoding = video_from is None
            if self.encoding:
                self.stream = self.container.add_stream(enc.codec, rate=rate)
                self.stream.width = width
                self.stream.height = height
                self.stream.pix_fmt = pix_fmt
                self.stream.time_base = info.time_base
                cc = self.stream.codec_context
                cc.time_base = info.time_base
                cc.colorspace = info.colorspace
                cc.color_range = info.color_range
                cc.color_primaries = info.color_primaries
                cc.color_trc = info.color_trc
                if info.sar:    # non-square pixels (anamorphic DVD, HDV): the picture keeps its shape
                    cc.sample_aspect_ratio = info.sar
                self.stream.options = self._hdr_options(self._live_options(options, enc, live, rate), enc)
            else:
                self.stream = self.container.add_stream_from_template(video_from)
                self.stream.time_base = video_from.time_base
            if info.display_matrix is not None:
                self.stream.set_display_matrix(list(info.display_matrix))   # a phone's rotation, for players
            self.map, self.subtitles, self.audio, self.adts = {}, {}, {}, set()
            dropped = [f"{self._describe(s)}: vdeblur writes one video stream" for s in left_out]
            dropped += [f"{self._describe(s)}: {fmt or output.suffix} cannot hold it"
                        for s in passthrough if not self._carry(s)]
            if dropped:
                log.warning(f"warning: not written to the output: {'; '.join(dropped)}")
        except (OutputError, UsageError):
            self.abort()
            raise
        except (av.error.FFmpegError, ValueError) as e:
            self.abort()
            where = mask_url(output) if isinstance(output, str) else output
            raise OutputError(f"cannot write {where}: {e}") from None
        # RGB -> YUV with the input's matrix and range (what the decode side used: vdeblur.colour), at the
        # output format's chroma siting; the stream carries the input's tags.
        self._resized = False
        self._spec = ColourSpec.of(info.colorspace, info.color_range,
                                   self.stream.pix_fmt if self.encoding else "", info.height,
                                   self.stream.codec_context.name if self.encoding else None)

    def _target(self, output: Path | str, enc: EncodeConfig, live: bool) -> tuple[str, str | None, bool, dict]:
        """(what FFmpeg opens, its format, live, container options): a pipe, a stream URL, or the temporary
        beside a file (fragmented MP4 in live mode: a crash loses at most a second)."""
        if isinstance(output, str) and output.startswith("pipe:"):
            fmt = enc.container or "nut"
            if fmt not in PIPE_FORMATS:
                raise UsageError(f"-f {fmt} cannot be written to a pipe (it seeks back to finish the file); "
                                 f"use one of {', '.join(PIPE_FORMATS)}")
            return output, fmt, live, {}
        if isinstance(output, str):     # a stream output is watched as it comes: no encoder delay
            return output, STREAM_FORMATS[output.split(":", 1)[0].lower()], True, {}
        self.tmp = files.temp_for(output, output.suffix)
        fmt = enc.container or self.format_for(output)
        opts = {}
        if live and fmt in ("mp4", "mov"):
            # A fragment at least every second, written through at once (FFmpeg otherwise holds the
            # fragments of a stream with audio in its buffer until the end).
            opts = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "frag_duration": "1000000",
                    "flush_packets": "1"}
        return str(self.tmp), fmt, live, opts

    @staticmethod
    def _describe(s: av.stream.Stream) -> str:
        name = getattr(s.codec_context, "name", None) or "unknown codec"
        lang = (s.metadata or {}).get("language")
        return f"{s.type} stream #{s.index} ({name}{', ' + lang if lang else ''})"

    def _carry(self, s: av.stream.Stream) -> bool:
        """Add an output stream for an input audio/subtitle stream: as it is; or converted where the
        container cannot hold it as it is (audio re-encoded, text subtitles to the container's text format,
        e.g. SRT -> mov_text in MP4). False: it cannot be carried."""
        fmt = self.container.format.name.split(",")[0]
        if s.codec_context is None:      # no decoder here, or a header cut short: nothing to carry it with
            return False
        name = s.codec_context.name
        try:
            if s.type == "audio":
                allowed = REMUX_AUDIO.get(fmt) or self.container.supported_codecs
                if name in allowed:
                    self.map[s.index] = out = self.container.add_stream_from_template(s)
                    if name == "aac" and not s.codec_context.extradata and fmt not in ("mpegts", "adts"):
                        # ADTS AAC (from MPEG-TS, a stream) into MP4/MKV: the container wants the
                        # AudioSpecificConfig up front and raw frames, as FFmpeg's aac_adtstoasc gives.
                        out.codec_context.extradata = audio_specific_config(s.codec_context)
                        self.adts.add(s.index)
                    return True
                return self._transcode_audio(s, "aac" if "aac" in allowed else self.container.default_audio_codec)
            try:
                self.map[s.index] = self.container.add_stream_from_template(s)
                return True
            except (ValueError, av.error.FFmpegError):
                pass
            target = TEXT_SUBTITLE_FOR.get(fmt)
            if s.type != "subtitle" or target is None or name not in TEXT_SUBTITLES:
                return False
            dec = s.codec_context
            dec.open()
            out = self.container.add_stream(target)
            out.time_base = s.time_base
            out.codec_context.time_base = s.time_base
            out.codec_context.subtitle_header = dec.subtitle_header
            if (s.metadata or {}).get("language"):
                out.metadata["language"] = s.metadata["language"]
        except (ValueError, av.error.FFmpegError):
            return False
        self.subtitles[s.index] = (dec, out)
        return True

    def _transcode_audio(self, s: av.stream.Stream, codec: str) -> bool:
        """Audio the container cannot hold as it is (PCM in MPEG-TS, AAC in WebM, G.711 in MP4, ...) is
        re-encoded with `codec` (AAC, or the container's own default such as Opus for WebM)."""
        dec = s.codec_context
        rate = dec.sample_rate or 48000
        if codec in ("libopus", "opus") and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        layout = dec.layout.name if dec.layout is not None and dec.layout.nb_channels <= 2 else "stereo"
        out = self.container.add_stream(codec, rate=rate)
        out.layout = layout
        out.time_base = Fraction(1, rate)
        fmts = [f.name for f in (out.codec_context.codec.audio_formats or [])]
        resampler = av.AudioResampler(format=fmts[0] if fmts and "fltp" not in fmts else "fltp", layout=layout,
                                      rate=rate)
        self.audio[s.index] = (dec, out, resampler)
        log.info(f"note: audio stream #{s.index} ({dec.name}) is re-encoded as {out.codec_context.name}: "
                 f"{self.container.format.name.split(',')[0]} cannot hold it as it is")
        return True

    def _hdr_options(self, options: dict, enc: EncodeConfig) -> dict:
        """x265 writes the input's HDR mastering-display and light-level data (SEI) where there is some; the
        user's own x265-params come after, so they win."""
        if not self.info.hdr or enc.codec != "libx265":
            return options
        ours = ":".join(f"{k}={v}" for k, v in self.info.hdr)
        user = options.get("x265-params")
        return {**options, "x265-params": f"{ours}:{user}" if user else ours}

    @staticmethod
    def _live_options(options: dict, enc: EncodeConfig, live: bool, rate: Fraction) -> dict:
        opts = dict(options)
        if live and enc.codec in ("libx264", "libx265") and "tune" not in dict(enc.options):
            opts["tune"] = "zerolatency"
            # A keyframe every 2 s, so a viewer joining a stream (or a cut file) starts quickly.
            opts.setdefault("g", str(max(1, round(2 * float(rate)))))
        return opts

    @staticmethod
    def format_for(path: Path) -> str | None:
        return {".mkv": "matroska", ".mp4": "mp4", ".mov": "mov", ".ts": "mpegts", ".webm": "webm",
                ".avi": "avi", ".m4v": "mp4", ".flv": "flv"}.get(path.suffix.lower())

    def _disk(self, e: OSError) -> None:
        """A write error for lack of space (or the like) becomes a one-line OutputError naming the disk."""
        err = files.disk_error(e, self.final) if isinstance(self.final, Path) else None
        if err is not None:
            raise err from None

    def write_frame(self, rgb: np.ndarray, pts: int) -> None:
        """rgb: (H, W, 3) uint8; pts in the input video stream's time base. A frame of another size than the
        stream's (the input changed size mid-stream) is fitted into it with its aspect kept."""
        size = (self.stream.height, self.stream.width)
        if rgb.shape[:2] != size:
            if not self._resized:
                log.warning(f"warning: the input changes size mid-stream ({size[1]}x{size[0]} -> {rgb.shape[1]}x"
                            f"{rgb.shape[0]} at frame {self.frames + 1}); each frame is deblurred at its own size "
                            f"and written at {size[1]}x{size[0]}, aspect kept (bars where it differs)")
                self._resized = True
            rgb = fit(rgb, *size)
        frame = rgb_to_frame(rgb, self.stream.pix_fmt, self._spec)
        frame.pts = pts
        frame.time_base = self.info.time_base
        try:
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
        except OSError as e:
            self._disk(e)
            raise
        self.frames += 1

    def write_video_packet(self, packet: av.Packet) -> None:
        """Mux one already encoded packet of the `video_from` stream (its pts/dts in packet.time_base)."""
        packet.stream = self.stream
        try:
            self.container.mux(packet)
        except OSError as e:
            self._disk(e)
            raise
        self.frames += 1

    def write_packet(self, packet: av.Packet) -> None:
        """Remux one audio/subtitle packet. A packet whose dts does not increase (damaged input) would make
        the muxer fail the whole file: it is left out and counted in `packets_dropped` instead."""
        index = packet.stream.index
        if packet.dts is not None:
            last = self._last_dts.get(index)
            if last is not None and packet.dts <= last:
                self.packets_dropped += 1
                return
            self._last_dts[index] = packet.dts
        try:
            if index in self.map:
                if index in self.adts:
                    packet = strip_adts(packet)
                packet.stream = self.map[index]
                self.container.mux(packet)
            elif index in self.audio:
                dec, out, resampler = self.audio[index]
                for frame in dec.decode(packet):
                    frame.pts, frame.time_base = packet.pts, packet.time_base
                    for f in resampler.resample(frame):
                        for q in out.encode(f):
                            self.container.mux(q)
            elif index in self.subtitles:
                dec, out = self.subtitles[index]
                subs = dec.decode2(packet)
                if subs is None:
                    return
                q = out.codec_context.encode_subtitle(subs)
                q.pts, q.dts, q.duration, q.time_base = packet.pts, packet.pts, packet.duration, packet.time_base
                q.stream = out
                self.container.mux(q)
        except OSError as e:
            self._disk(e)
            raise

    def close(self) -> Path | str:
        """Flush the encoder, close the file, put it in place (see files.publish). On any failure the
        temporary file is removed and the destination is left as it was."""
        try:
            try:
                for packet in self.stream.encode(None) if self.encoding else ():
                    self.container.mux(packet)
                for _dec, out, _resampler in self.audio.values():
                    for packet in out.encode(None):
                        self.container.mux(packet)
                self.container.close()
                if self.tmp is not None:
                    files.publish(self.tmp, self.final, self.overwrite)
            except OSError as e:
                self._disk(e)
                raise OutputError(f"cannot finish {self.final}: {e.strerror or e}") from None
        except BaseException:
            self.abort()
            raise
        return self.final

    def salvage(self) -> int:
        """Quit now but keep what the container already holds (a second Ctrl-C in live mode): close it
        without flushing the encoder and put it in place. Returns how many frames were handed to it."""
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - keep what is there
            pass
        if self.tmp is None:
            return self.frames
        try:
            if self.tmp.stat().st_size > 0:
                files.publish(self.tmp, self.final, self.overwrite)
                return self.frames
        except (OSError, OutputError):
            pass
        self.tmp.unlink(missing_ok=True)
        return 0

    def abort(self) -> None:
        try:
            if getattr(self, "container", None) is not None:
                self.container.close()
        except Exception:
            pass
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
