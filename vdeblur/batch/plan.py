"""Where a file is cut into chunks: at keyframes near every `chunk_s` seconds, each chunk after the first
starting its network `warmup` frames earlier (outputs discarded) so the recurrent state has settled by
the chunk's first written frame.

The plan reads the video packets' timestamps (demuxing only, no decoding): a chunk is a half-open pts
range [start, end) of the input video stream's own timestamps, so the chunks partition the frames
exactly and the joined output keeps every frame's pts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..errors import InputError
from ..urls import mask_url


@dataclass(frozen=True)
class Chunk:
    """Frames with start <= pts < end are written (None: from the first / to the last frame); the network
    starts at warm (<= start) and its outputs before start are discarded."""

    index: int
    start: int | None
    end: int | None
    warm: int | None
    frames: int                 # frames the packet scan counts in [start, end)


@dataclass(frozen=True)
class FilePlan:
    input: str
    frames: int                 # video packets with a timestamp: the frames the file should give
    time_base: Fraction
    duration_s: float
    chunks: tuple[Chunk, ...]
    note: str = ""              # why the file was not split, when it was long enough to be


def scan_pts(path: str) -> tuple[list[int], set[int], Fraction, bool]:
    """(video pts sorted, keyframe pts, time base, usable): usable is False when some packet has no pts or
    two share one (broken timing: such a file is not split, the pipeline re-times it in one piece)."""
    try:
        c = av.open(path)
    except av.error.FFmpegError as e:
        raise InputError(f"cannot open {mask_url(path)} as media: {e.strerror or e}") from None
    with c:
        videos = [s for s in c.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
        if not videos:
            raise InputError(f"no video stream in {mask_url(path)}")
        v = videos[0]
        pts, keys, usable = [], set(), True
        try:
            for p in c.demux(v):
                if p.size == 0:
                    continue
                if p.pts is None:
                    usable = False
                    continue
                pts.append(p.pts)
                if p.is_keyframe:
                    keys.add(p.pts)
        except av.error.FFmpegError:
            usable = False      # damaged: the pipeline counts and reports it; do not split what is unclear
        pts.sort()
        usable = usable and len(set(pts)) == len(pts)
        return pts, keys, v.time_base or Fraction(1, 90000), usable


def plan_file(path: str, chunk_s: float | None, warmup: int) -> FilePlan:
    """Chunks of about chunk_s seconds (None or 0: one chunk), each starting at a keyframe of the input
    where one is near (so decoding starts close to the warm-up), with `warmup` frames of warm-up."""
    if not os.path.exists(path) and "://" not in path:
        raise InputError(f"input not found: {path}")
    pts, keys, tb, usable = scan_pts(path)
    if not pts:
        raise InputError(f"no video frames in {mask_url(path)}")
    duration = float((pts[-1] - pts[0]) * tb)
    one = (Chunk(0, None, None, None, len(pts)),)
    if not chunk_s or duration <= chunk_s * 1.5:
        return FilePlan(path, len(pts), tb, duration, one)
    if not usable:
        return FilePlan(path, len(pts), tb, duration, one,
                        note="not split: some frames have no timestamp or share one")
    step = chunk_s / float(tb)
    starts = [0]                 # indices into pts of each chunk's first frame
    target = pts[0] + step
    for i, p in enumerate(pts):
        if p >= target and (float((pts[-1] - p) * tb) >= chunk_s * 0.5):
            # the first keyframe at or after the target, or the target itself where none is close
            j = next((k for k in range(i, min(len(pts), i + int(step))) if pts[k] in keys), i)
            if j > starts[-1]:
                starts.append(j)
                target = pts[j] + step
    chunks = []
    for n, i in enumerate(starts):
        j = starts[n + 1] if n + 1 < len(starts) else len(pts)
        chunks.append(Chunk(n, pts[i] if n else None, pts[j] if j < len(pts) else None,
                            pts[max(0, i - warmup)] if n else None, j - i))
    return FilePlan(path, len(pts), tb, duration, tuple(chunks))


def output_name(path: str, ext: str, taken: set[str]) -> str:
    """The output file name for an input: its stem with `ext`; the parent folder's name is prefixed where
    two inputs share a stem (cam1/0001.mp4, cam2/0001.mp4)."""
    p = Path(path.split("?", 1)[0])
    name = f"{p.stem}{ext}"
    if name in taken:
        name = f"{p.parent.name}_{p.stem}{ext}"
    k = 2
    base = name
    while name in taken:
        name = f"{Path(base).stem}_{k}{ext}"
        k += 1
    taken.add(name)
    return name
