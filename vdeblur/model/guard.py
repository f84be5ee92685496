"""A learned safeguard for a frozen deblurring step: a confidence map that blends the output back toward the
input where the correction is likely wrong (pure torch).

    frame = current + a * (deblurred - current),   a in [0, 1] per pixel

`a` comes from a small convolutional net at a quarter of the resolution that sees the current frame, the
deblurred one and their difference, upsampled bilinearly. It is trained with the deblurring network frozen
(tools/train_guard.py), so it can only take corrections back, never add new ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .net import DeblurNet, NetConfig


class Guard(nn.Module):
    def __init__(self, channels: int = 16):
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(9, c, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, 1, 3, padding=1))
        with torch.no_grad():       # start by keeping nearly all of the correction: a = sigmoid(3) = 0.95
            self.body[-1].weight.mul_(0.1)
            self.body[-1].bias.fill_(3.0)

    def confidence(self, current: torch.Tensor, deblurred: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float [0, 1] twice -> a (N, 1, H, W) in [0, 1]."""
        x = torch.cat([current, deblurred, deblurred - current], 1)
        a = torch.sigmoid(self.body(x))
        return F.interpolate(a, size=current.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, current: torch.Tensor, deblurred: torch.Tensor) -> torch.Tensor:
        return current + self.confidence(current, deblurred) * (deblurred - current)


@dataclass(frozen=True)
class GuardedConfig:
    net: NetConfig
    guard_channels: int = 16

    def to_dict(self) -> dict:
        return {"net": self.net.to_dict(), "guard_channels": self.guard_channels}

    @classmethod
    def from_dict(cls, d: dict) -> "GuardedConfig":
        if not isinstance(d, dict) or not isinstance(d.get("net"), dict):
            raise ValueError("a guarded network's config holds the network's under 'net'")
        ch = d.get("guard_channels", 16)
        if not isinstance(ch, int) or not 1 <= ch <= 128:
            raise ValueError(f"guard_channels must be an integer in [1, 128], got {ch!r}")
        return cls(NetConfig.from_dict(d["net"]), ch)


class GuardedNet(nn.Module):
    """DeblurNet's step followed by a Guard: the same contract (window, state, names, shapes)."""

    GUARD_REACH = 24            # px the guard reads around a pixel (two stride-2 and two 3x3 convs, bilinear)

    def __init__(self, config: GuardedConfig):
        super().__init__()
        self.config = config
        self.net = DeblurNet(config.net)
        self.guard = Guard(config.guard_channels)

    window = property(lambda self: self.net.window)
    stride = property(lambda self: self.net.stride)
    state_names = property(lambda self: self.net.state_names)
    width = property(lambda self: self.net.width)

    def state_shapes(self, n: int, h: int, w: int):
        return self.net.state_shapes(n, h, w)

    def receptive_radius(self) -> int:
        return self.net.receptive_radius() + self.GUARD_REACH

    def init_state(self, n: int, h: int, w: int, device=None, dtype=torch.float32):
        return self.net.init_state(n, h, w, device=device, dtype=dtype)

    def folded(self) -> "GuardedNet":
        self.net = self.net.folded()
        self.config = GuardedConfig(self.net.config, self.config.guard_channels)
        return self

    def forward(self, window: torch.Tensor, *state: torch.Tensor):
        out, *new_state = self.net(window, *state)
        return (self.guard(window[:, -1], out), *new_state)
