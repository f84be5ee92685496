"""Motion-blur length estimator: a small fully convolutional network. Imports only torch.

Input: the previous and the current frame's luma at analysis size, each (N, 1, h, w) float in [0, 1] (the
previous frame tells motion from texture). Output: (N, 1, h/16, w/16), the blur length per region as
log1p(px / 16 at analysis width), so a value converts to px of the real frame as
expm1(v) * 16 * frame_width / analysis_width. Trained on synthetic clips whose true blur length is known
(tools/train_blur_head.py); the frame's estimate is the mean over regions.
"""
from __future__ import annotations

import torch
from torch import nn

ANALYSIS_WIDTH = 256
UNIT_PX = 16.0          # px at analysis width per unit of expm1(output)


class BlurHead(nn.Module):
    def __init__(self, width: int = 24):
        super().__init__()
        w = width

        def block(cin: int, cout: int, stride: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.ReLU(inplace=True),
                                 nn.Conv2d(cout, cout, 3, 1, 1), nn.ReLU(inplace=True))

        self.body = nn.Sequential(block(2 + 2, w, 2), block(w, 2 * w, 2), block(2 * w, 2 * w, 2),
                                  block(2 * w, 4 * w, 2))
        self.out = nn.Conv2d(4 * w, 1, 1)

    def forward(self, prev: torch.Tensor, cur: torch.Tensor) -> torch.Tensor:
        """prev, cur: (N, 1, h, w) luma in [0, 1], h and w multiples of 16 -> (N, 1, h/16, w/16) >= 0."""
        # The difference and the local gradient magnitude are given, not learned: a small net trains fast.
        gy, gx = torch.gradient(cur, dim=(-2, -1))
        x = torch.cat([cur, cur - prev, gx.abs(), gy.abs()], 1)
        return torch.nn.functional.softplus(self.out(self.body(x)))
