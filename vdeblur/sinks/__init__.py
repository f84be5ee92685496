"""Sinks: where deblurred frames go. A sink is a contract (`Sink`); each output kind is one module plus one
register() line below, tried by `check_output` newest registration first (the first whose `matches` accepts
the output), so a kind registered by a user comes before the built-in catch-all.

    check_output(input, output, overwrite) -> Destination   validated before any work starts
    open_sink(destination, info, encode, width, height, passthrough, live) -> Sink

A sink never leaves a half-written output at the destination: it writes beside it and puts the result in
place on close(); abort() removes what it wrote.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..config import EncodeConfig
from ..errors import OutputError
from ..source import VideoInfo


class Sink(Protocol):
    frames: int                                       # frames written so far

    def write_frame(self, rgb: np.ndarray, pts: int) -> None:
        """rgb (H, W, 3) uint8; pts in the input video stream's time base."""

    def write_packet(self, packet) -> None:
        """A remuxed (audio, subtitle) packet; sinks that cannot hold it drop it."""

    def close(self) -> Path | str:
        """Finish and put the output in place; returns where it is."""

    def salvage(self) -> int:
        """Stop at once but keep what is already complete at the destination; returns the frames kept."""

    def abort(self) -> None:
        """Remove what was written; the destination is left as it was."""


@dataclass(frozen=True)
class SinkKind:
    name: str
    matches: Callable[[str], bool]
    check: Callable[[str, str, bool], object]          # (input, output, overwrite) -> target, or raise
    open: Callable[..., Sink]     # (target, info, enc, width, height, passthrough, live, overwrite=, left_out=)


@dataclass(frozen=True)
class Destination:
    kind: SinkKind
    target: object                                     # what kind.check returned (a Path, a URL, ...)

    def __str__(self) -> str:
        return str(self.target)


_KINDS: list[SinkKind] = []


def register(kind: SinkKind) -> None:
    """Add an output kind, tried before those registered earlier."""
    _KINDS.insert(0, kind)


def check_output(input_path: str, output: str, overwrite: bool) -> Destination:
    for kind in _KINDS:
        if kind.matches(output):
            return Destination(kind, kind.check(input_path, output, overwrite))
    raise OutputError(f"no sink writes {output}")


def open_sink(dest: Destination, info: VideoInfo, enc: EncodeConfig, width: int, height: int,
              passthrough: list, live: bool = False, overwrite: bool = True, left_out: list = ()) -> Sink:
    """overwrite: whether the sink may replace what appeared at the destination while it wrote. left_out:
    input streams the pipeline does not carry (the sink names them in its warning)."""
    return dest.kind.open(dest.target, info, enc, width, height, passthrough, live, overwrite=overwrite,
                          left_out=left_out)


def _register_builtins() -> None:
    from . import images, video

    from ..urls import pipe_target

    register(SinkKind("video", lambda output: True, video.check_video_output, video.FileSink))
    register(SinkKind("images", images.matches, images.check_output, images.ImageSequenceSink))
    register(SinkKind("pipe", lambda output: pipe_target(output, 1) is not None, video.check_pipe_output,
                      video.FileSink))


_register_builtins()
