"""Makers of damaged, odd and tricky inputs for the bad-input table (tests/test_bad_inputs.py) and the fuzz
test. Each maker writes into a folder and returns the path of the input it made."""
from __future__ import annotations

import pickle
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from clips import make_clip

SRT_LINES = [(0.1, 0.9, "Hello <i>world</i>"), (1.2, 2.0, "second line")]
ASS_HEADER = (b"[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\n"
              b"Style: Default,Arial,16\n\n[Events]\nFormat: Layer, Start, End, Style, Text\n")
_DEFAULT_MATRIX = (65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)


def good(d: Path, name: str = "in.mp4", frames: int = 12, width: int = 96, height: int = 64, **kw) -> Path:
    p = d / name
    make_clip(p, frames=frames, width=width, height=height, **kw)
    return p


def remux(src: Path, dst: Path, *, rotation: int | None = None, faststart: bool = False,
          extra_video: bool = False, srt: bool = False) -> Path:
    """Copy src's packets into dst, optionally adding a display rotation, the moov atom first (faststart),
    a second copy of the video stream, or a SubRip subtitle track (SRT_LINES)."""
    with av.open(str(src)) as inp:
        opts = {"movflags": "+faststart"} if faststart else {}
        with av.open(str(dst), "w", options=opts) as out:
            streams = {}
            for s in inp.streams:
                streams[s.index] = out.add_stream_from_template(s)
            v = inp.streams.video[0]
            if rotation is not None:
                streams[v.index].set_display_rotation(rotation)
            twin = out.add_stream_from_template(v) if extra_video else None
            sub = None
            if srt:
                sub = out.add_stream("subrip")
                sub.time_base = Fraction(1, 1000)
                sub.codec_context.subtitle_header = ASS_HEADER
            for p in inp.demux():
                if p.dts is None:
                    continue
                if twin is not None and p.stream.index == v.index:
                    q = av.Packet(bytes(p))
                    q.pts, q.dts, q.time_base, q.is_keyframe = p.pts, p.dts, p.time_base, p.is_keyframe
                    q.stream = twin
                    out.mux(q)
                p.stream = streams[p.stream.index]
                out.mux(p)
            if sub is not None:
                for start, end, text in SRT_LINES:
                    q = av.Packet(text.encode())
                    q.pts = q.dts = int(start * 1000)
                    q.duration = int((end - start) * 1000)
                    q.time_base = sub.time_base
                    q.stream = sub
                    out.mux(q)
    return dst


def truncated(d: Path, fraction: float = 0.5, name: str = "cut.mp4", frames: int = 60) -> Path:
    """A clip cut at `fraction` of its bytes; MP4s get their index first (faststart), as phones and the web
    write them, so the container still announces every frame."""
    src = good(d, "whole" + Path(name).suffix, frames=frames, audio=False)
    if name.endswith(".mp4"):
        src = remux(src, d / "faststart.mp4", faststart=True)
    data = src.read_bytes()
    p = d / name
    p.write_bytes(data[:int(len(data) * fraction)])
    return p


def garbage_middle(d: Path) -> Path:
    import random

    src = good(d, "whole.ts", frames=40, audio=False)
    data = bytearray(src.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 3000] = random.Random(0).randbytes(3000)
    p = d / "bad.ts"
    p.write_bytes(bytes(data))
    return p


def _silent_audio(path: Path, video: bool) -> Path:
    """0.2 s of silent AAC; with `video`, also a declared H.264 stream that never gets a packet."""
    with av.open(str(path), "w") as c:
        if video:
            v = c.add_stream("libx264", rate=25)
            v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = c.add_stream("aac", rate=48000)
        a.layout = "mono"
        for i in range(10):
            fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            fr.sample_rate, fr.pts = 48000, i * 1024
            for q in a.encode(fr):
                c.mux(q)
        for q in a.encode():
            c.mux(q)
    return path


def video_without_packets(d: Path) -> Path:
    """An MKV whose video stream is declared but holds no packets (only audio)."""
    return _silent_audio(d / "novideo.mkv", video=True)


def audio_only(d: Path) -> Path:
    return _silent_audio(d / "audio.m4a", video=False)


def pickle_weights(d: Path) -> Path:
    """A file that would run code if unpickled (it must only ever be refused)."""
    p = d / "evil.safetensors"
    p.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    return p


def display_matrix(path: Path) -> tuple[int, ...]:
    """The first frame's display matrix (9 int32), the identity when there is none."""
    import struct

    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
        sd = f.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
        return struct.unpack("<9i", bytes(sd)[:36]) if sd is not None else _DEFAULT_MATRIX


def streams(path: Path) -> list[tuple[str, str]]:
    with av.open(str(path)) as c:
        return [(s.type, s.codec_context.name) for s in c.streams]


def frames_and_size(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as c:
        n, w, h = 0, 0, 0
        for f in c.decode(video=0):
            n, w, h = n + 1, f.width, f.height
    return n, w, h


def pcm_audio(d: Path) -> Path:
    """A MOV with 16-bit PCM audio (MPEG-TS cannot carry it as it is)."""
    p = d / "pcm.mov"
    with av.open(str(p), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = c.add_stream("pcm_s16le", rate=8000)
        a.layout = "mono"
        for i in range(12):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 25)
            for q in v.encode(f):
                c.mux(q)
        for i in range(24):
            fr = av.AudioFrame.from_ndarray((np.sin(np.arange(160) / 5) * 9000).astype(np.int16)[None], format="s16",
                                            layout="mono")
            fr.sample_rate, fr.pts = 8000, i * 160
            for q in a.encode(fr):
                c.mux(q)
        for q in v.encode():
            c.mux(q)
        for q in a.encode():
            c.mux(q)
    return p
