"""Where frames come from: the input contract (`VideoSource`) and the registry that picks the opener for an
input, as vdeblur.sinks does for outputs. Each input kind is one module plus one register() call; the
newest registration is tried first, so a kind registered by a user comes before the built-in catch-all.

Built in: "stream" (network URLs and capture devices, live: reconnects, re-timed frames; vdeblur.live) and
"file" (files, pipes and image sequences, through FFmpeg's demuxers; vdeblur.source).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol, runtime_checkable

from .errors import InputError


@runtime_checkable
class VideoSource(Protocol):
    """An opened input. items() yields DecodedFrame (rgb (H, W, 3) uint8, pts in info.time_base) and the
    packets of the `passthrough` streams (remuxed untouched), in demux order, until the end or stop()."""

    info: Any                   # vdeblur.source.VideoInfo
    passthrough: list           # audio / subtitle streams whose packets items() yields
    left_out: list              # streams neither decoded nor passed through (the sink names them)
    decode_errors: int          # damaged packets or frames, counted, never raised
    error_detail: str | None    # what the first damage was, for the run's message
    reconnects: int             # times a live input reconnected (0 for files)
    start_s: float              # the video stream's first timestamp, seconds (time ranges count from it)

    def items(self, stop: Callable[[], bool] | None = None) -> Iterator: ...

    def seek(self, pts: int) -> None:
        """Continue from the keyframe at or before pts; raise (any error) where the input cannot seek."""

    def shortfall(self, decoded: int) -> str | None:
        """Why the input looks cut short after `decoded` frames, or None (always None where unknown)."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class InputKind:
    name: str
    live: bool                                          # frames arrive in real time (drop, reconnect)
    claims: Callable[[str, str | None], bool]           # (input, input_format) -> whether it opens it
    open: Callable[..., VideoSource]                    # (cfg: RunConfig, stop) -> an opened source


_KINDS: list[InputKind] = []


def register(kind: InputKind) -> None:
    """Add an input kind, tried before those registered earlier."""
    _KINDS.insert(0, kind)


def kinds() -> list[InputKind]:
    return list(_KINDS)


def input_kind(input: str, input_format: str | None = None, live: bool | None = None) -> InputKind:
    """The kind that opens `input`: the first that claims it; `live` (the --live / --no-live override)
    restricts the choice to live or non-live kinds."""
    for kind in _KINDS:
        if (live is None or kind.live == live) and kind.claims(input, input_format):
            return kind
    if live is not None:        # --live on a file, --no-live on a stream: the first kind of that mode
        for kind in _KINDS:
            if kind.live == live:
                return kind
    raise InputError(f"no input kind opens {input}")


def is_live_run(cfg) -> bool:
    """Whether a run's input is live: --live / --no-live where given, else its kind's."""
    return cfg.live if cfg.live is not None else input_kind(cfg.input, cfg.input_format).live


def open_input(cfg, live: bool, stop: Callable[[], bool] | None = None) -> VideoSource:
    """cfg.input opened by its kind (see input_kind)."""
    return input_kind(cfg.input, cfg.input_format, live).open(cfg, stop)


def _open_stream(cfg, stop):
    from .live import LiveSource, ReconnectPolicy

    return LiveSource(cfg.input, ReconnectPolicy(cfg.reconnect_max), cfg.input_format, stop=stop)


def _open_file(cfg, stop):
    from .source import Source

    return Source(cfg.input, dict(cfg.input_options), input_format=cfg.input_format)


def _claims_stream(input: str, input_format: str | None) -> bool:
    from .source import is_live

    return is_live(input, input_format)


register(InputKind("file", False, lambda input, input_format: True, _open_file))
register(InputKind("stream", True, _claims_stream, _open_stream))
