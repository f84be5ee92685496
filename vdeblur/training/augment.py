"""Geometric augmentation of clip batches: the same flips, transposition and time reversal for the
blurred input and its target."""
from __future__ import annotations

import torch


def augment(blur: torch.Tensor, sharp: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """blur, sharp: (B, T, 3, S, S). One random choice per batch (a per-sample choice would need a gather)."""
    r = torch.rand(4, generator=gen).tolist()

    def f(x: torch.Tensor) -> torch.Tensor:
        if r[0] < 0.5:
            x = x.flip(-1)
        if r[1] < 0.5:
            x = x.flip(-2)
        if r[2] < 0.5:
            x = x.transpose(-1, -2)
        if r[3] < 0.5:
            x = x.flip(1)
        return x

    return f(blur), f(sharp)
