"""Time ranges in media time (`-ss`, `-t`, `-to`), frame-accurate, as FFmpeg's input options cut:

    frames with   t < start - warm          skipped (decoded only where the input cannot seek)
                  start - warm <= t < start  run through the network to warm its recurrent state, not written
                  start <= t < end           written, with timestamps from 0 (t - start), or kept (copyts)
                  t >= end                   the run ends

`t` counts from the start of the video stream, as FFmpeg's -ss does. Audio and subtitle packets are cut to
the same range (at packet boundaries) and shifted alike.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Iterator

import av

from .errors import UsageError

log = logging.getLogger("vdeblur")


def parse_time(text: str) -> float:
    """'90', '1.5', '01:30', '00:01:30.25' -> seconds (FFmpeg's duration syntax, without units)."""
    try:
        parts = [float(p) for p in str(text).strip().split(":")]
    except ValueError:
        raise UsageError(f"not a time: {text!r} (seconds, or [HH:]MM:SS[.frac])") from None
    if not 1 <= len(parts) <= 3 or any(p < 0 or not math.isfinite(p) for p in parts):
        raise UsageError(f"not a time: {text!r} (seconds, or [HH:]MM:SS[.frac])")
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


@dataclass(frozen=True)
class TimeRange:
    start_s: float = 0.0
    end_s: float | None = None         # exclusive; None: to the end
    copyts: bool = False               # keep the input's timestamps instead of starting at 0

    @staticmethod
    def of(start: float | None, span: float | None, end: float | None, copyts: bool = False) -> "TimeRange | None":
        """From -ss / -t / -to (seconds, None where not given); None when no range was asked for."""
        if start is None and span is None and end is None:
            return None
        if span is not None and end is not None:
            raise UsageError("give -t (a duration) or -to (an end time), not both")
        s = start or 0.0
        e = s + span if span is not None else end
        if e is not None and e <= s:
            raise UsageError(f"the range is empty: it ends at {e:g} s, not after its start at {s:g} s")
        return TimeRange(s, e, copyts)


class RangedSource:
    """A Source seen through a TimeRange: items() gives only what the range holds (DecodedFrame.warm marks
    the warm-up frames); everything else is the source's own (info, passthrough, decode_errors...)."""

    def __init__(self, source, rng: TimeRange, warm_frames: int):
        self._source, self.range = source, rng
        info = source.info
        step = 1 / float(info.rate) if info.rate else 1 / 30
        self._warm_s = warm_frames * step
        self._t0 = source.start_s
        self._tb = info.time_base
        if rng.start_s > 0:
            self._seek(rng.start_s - self._warm_s)
        self.warm = 0           # frames run only to warm the state

    def __getattr__(self, name):
        return getattr(self._source, name)

    def _seek(self, t: float) -> None:
        if t <= 0:
            return
        try:
            self._source.seek(int((self._t0 + t) / self._tb))
        except (av.error.FFmpegError, ValueError, OSError):
            # A pipe or a format without an index: decode from the start, skipping what is too early.
            log.info(f"note: {self._source.info.codec} input cannot seek here; decoding from its start to "
                     f"{self.range.start_s:g} s")

    def _shift(self, pts: int, tb: Fraction) -> int:
        return pts if self.range.copyts else pts - round(Fraction(self.range.start_s) / tb)

    def items(self, stop=None, live: bool = False) -> Iterator:
        from .source import DecodedFrame

        start, end = self.range.start_s, self.range.end_s
        for item in self._source.items(stop, live):
            if isinstance(item, DecodedFrame):
                t = float(item.pts * self._tb) - self._t0
                if end is not None and t >= end - 1e-6:
                    return
                if t < start - 1e-6:
                    if t >= start - self._warm_s - 1e-6:
                        self.warm += 1
                        yield replace(item, warm=True)
                    continue
                yield replace(item, pts=self._shift(item.pts, self._tb))
                continue
            if item.pts is None or item.time_base is None:
                continue
            t = float(item.pts * item.time_base) - self._t0
            if t < start - 1e-6 or (end is not None and t >= end - 1e-6):
                continue
            if not self.range.copyts:
                offset = round(Fraction(start) / item.time_base)
                item.pts -= offset
                if item.dts is not None:
                    item.dts -= offset
            yield item
