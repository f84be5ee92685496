"""Frame geometry: the one owner of the network stride, padding, cropping and the (h, w) order.

Every size inside vdeblur is (height, width); only user-facing strings are WIDTHxHEIGHT, as in video.
"""
from __future__ import annotations

from dataclasses import dataclass


def round_up(n: int, stride: int) -> int:
    return -(-n // stride) * stride


def parse_size(size: str, low: int = 1, high: int | None = None) -> tuple[int, int]:
    """'1920x1080' (width x height, as users write it) -> (1080, 1920) as (h, w): the one size parser.
    ValueError for anything else, or a side outside [low, high]."""
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must be WIDTHxHEIGHT, got {size!r}") from None
    if w < 1 or h < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    if w < low or h < low or (high is not None and (w > high or h > high)):
        raise ValueError(f"size {size!r}: each side must be within {low}..{high}")
    return h, w


@dataclass(frozen=True)
class FrameGeometry:
    """A frame of height x width run through a network of the given stride.

    Frames are reflect-padded at the bottom and right to `padded` (multiples of the stride) and the output
    is cropped back to (height, width); the recurrent state has the padded size divided by the stride.
    """

    height: int
    width: int
    stride: int = 8             # DeblurNet.stride; backends pass their own

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def padded(self) -> tuple[int, int]:
        return round_up(self.height, self.stride), round_up(self.width, self.stride)

    @property
    def state_size(self) -> tuple[int, int]:
        ph, pw = self.padded
        return ph // self.stride, pw // self.stride

    def crop(self, x):
        """x[..., :height, :width] for any array or tensor whose last two axes are (padded h, padded w)."""
        return x[..., :self.height, :self.width]

    @classmethod
    def parse(cls, size: str, stride: int = 8) -> "FrameGeometry":
        return cls(*parse_size(size), stride)


@dataclass(frozen=True)
class Tile:
    """One tile: the window it reads (rows y0:y1, columns x0:x1 of the frame) and the core it writes
    (rows cy0:cy1, columns cx0:cx1), both in frame coordinates; the core lies inside the window."""

    y0: int
    y1: int
    x0: int
    x1: int
    cy0: int
    cy1: int
    cx0: int
    cx1: int


def _spans(size: int, tile: int, margin: int, stride: int) -> list[tuple[int, int, int, int]]:
    """Along one axis: (window start, window end, core start, core end) per tile. Cores of `tile` px
    partition the axis; every window has the same length (tile + 2 margins rounded up to the stride, or the
    whole axis), shifted inwards at the frame's edges, so every interior core edge has at least `margin` px
    of context and all tiles have one shape."""
    count = -(-size // tile)
    core = -(-size // count)        # equal cores (1080 with 256: five of 216, not four of 256 and one of 56)
    length = round_up(core + 2 * margin, stride)
    if length >= size:
        return [(0, size, 0, size)]
    spans = []
    for start in range(0, size, core):
        end = min(start + core, size)
        w0 = min(max(start - margin, 0), size - length)
        spans.append((w0, w0 + length, start, end))
    return spans


@dataclass(frozen=True)
class TileGrid:
    """Overlapping tiles over a height x width frame, each run as its own frame with its own recurrent
    state; each tile's output is cropped to its core (crop-to-center blending: cores do not overlap)."""

    height: int
    width: int
    tile: int                   # largest core size in px (both axes; cores are made equal, up to this; an
                                # axis that fits in one window of tile + 2 margins is not split)
    margin: int                 # context on each side of a core: at least the network's receptive field
    stride: int = 8

    def __post_init__(self):
        if self.tile < self.stride:
            raise ValueError(f"tile size must be at least {self.stride} px, got {self.tile}")

    @property
    def tiles(self) -> list[Tile]:
        rows = _spans(self.height, self.tile, self.margin, self.stride)
        cols = _spans(self.width, self.tile, self.margin, self.stride)
        return [Tile(y0, y1, x0, x1, cy0, cy1, cx0, cx1) for y0, y1, cy0, cy1 in rows for x0, x1, cx0, cx1 in cols]

    @property
    def window_size(self) -> tuple[int, int]:
        """(h, w) of every tile's window (the same for all tiles)."""
        t = self.tiles[0]
        return t.y1 - t.y0, t.x1 - t.x0
