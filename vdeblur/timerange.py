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
    warm_s: float | None = None        # warm-up before start_s; None: the caller's frame count

    @staticmethod
    def of_span(span: "Span", time_base: Fraction, t0: float) -> "TimeRange":
        """A Span (pts of the video stream) as seconds counted as RangedSource counts them, so that every
        frame falls on the same side of each bound as its pts does."""
        sec = lambda pts: float(pts * time_base) - t0  # noqa: E731
        start = sec(span.start) if span.start is not None else 0.0
        warm = start - sec(span.warm) if span.warm is not None and span.start is not None else 0.0
        return TimeRange(start, sec(span.end) if span.end is not None else None, True, max(0.0, warm))

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


@dataclass(frozen=True)
class Span:
    """A range of the input's video stream in its own pts (the batch worker's chunk): frames with
    warm <= pts < start warm the state, start <= pts < end are written with their own pts (None: from the
    first / to the last frame); the video alone (the chunks are joined, and the audio added, later)."""

    start: int | None
    end: int | None
    warm: int | None


class RangedSource:
    """A Source seen through a TimeRange: items() gives only what the range holds (DecodedFrame.warm marks
    the warm-up frames); everything else is the source's own (info, passthrough, decode_errors...)."""

    def __init__(self, source, rng: TimeRange, warm_frames: int, reopen=None):
        """reopen: a new source on the same input (None: none), for where a seek lands after the warm-up
        start (MPEG-TS seeks by a byte estimate): decoding then starts again from the beginning, as a frame
        must never be skipped."""
        self._source, self.range, self._reopen = source, rng, reopen
        info = source.info
        step = 1 / float(info.rate) if info.rate else 1 / 30
        self._warm_s = rng.warm_s if rng.warm_s is not None else warm_frames * step
        self._t0 = source.start_s
        self._tb = info.time_base
        self._seeked = rng.start_s > 0 and self._seek(rng.start_s - self._warm_s)
        self.warm = 0           # frames run only to warm the state

    def __getattr__(self, name):
        return getattr(self._source, name)

    def close(self) -> None:
        self._source.close()

    def _seek(self, t: float) -> bool:
        if t <= 0:
            return False
        try:
            self._source.seek(int((self._t0 + t) / self._tb))
            return True
        except (av.error.FFmpegError, ValueError, OSError):
            # A pipe or a format without an index: decode from the start, skipping what is too early.
            log.info(f"note: {self._source.info.codec} input cannot seek here; decoding from its start to "
                     f"{self.range.start_s:g} s")
            return False

    def _landed(self, stop, live: bool) -> Iterator:
        """The source's items after a seek, checked at its first frame: one after the warm-up start means
        the seek went too far, and the items come from a new source read from the start instead."""
        from .source import DecodedFrame

        items, held = self._source.items(stop, live), []
        for item in items:
            held.append(item)
            if isinstance(item, DecodedFrame):
                break
        first = next((i for i in held if isinstance(i, DecodedFrame)), None)
        early = self.range.start_s - self._warm_s + 1e-6
        if first is not None and float(first.pts * self._tb) - self._t0 > early and self._reopen is not None:
            items.close()
            self._source.close()
            self._source = self._reopen()
            log.info(f"note: seeking landed after {early:.3f} s; decoding from the start instead")
            yield from self._source.items(stop, live)
            return
        yield from held
        yield from items

    def _shift(self, pts: int, tb: Fraction) -> int:
        return pts if self.range.copyts else pts - round(Fraction(self.range.start_s) / tb)

    def items(self, stop=None, live: bool = False) -> Iterator:
        from .source import DecodedFrame

        start, end = self.range.start_s, self.range.end_s
        for item in (self._landed(stop, live) if self._seeked else self._source.items(stop, live)):
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
