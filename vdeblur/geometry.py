"""Frame geometry: the one owner of the network stride, padding, cropping and the (h, w) order.

Every size inside vdeblur is (height, width); only user-facing strings are WIDTHxHEIGHT, as in video.
"""
from __future__ import annotations

from dataclasses import dataclass


def round_up(n: int, stride: int) -> int:
    return -(-n // stride) * stride


def parse_size(size: str) -> tuple[int, int]:
    """'1920x1080' (width x height, as users write it) -> (1080, 1920) as (h, w)."""
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must be WIDTHxHEIGHT, got {size!r}") from None
    if w < 1 or h < 1:
        raise ValueError(f"size must be positive, got {size!r}")
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
