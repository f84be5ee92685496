"""Reconstruction losses as modules. Inputs are (..., 3, H, W) float, nominally [0, 1]."""
from __future__ import annotations

import torch
from torch import nn


def image_mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error in float32 over the last three dims: (..., 3, H, W) -> (...)."""
    return ((x.float() - y.float()) ** 2).mean(dim=(-3, -2, -1))


class Charbonnier(nn.Module):
    """mean(sqrt((x - y)^2 + eps^2)): L1 that is smooth at zero."""

    def __init__(self, eps: float = 1e-3):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sqrt((x - y) ** 2 + self.eps ** 2).mean()


class FFTL1(nn.Module):
    """Mean absolute difference of the 2-D spectra (orthonormal rFFT, float32): rewards restored edges."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx = torch.fft.rfft2(x.float(), norm="ortho")
        fy = torch.fft.rfft2(y.float(), norm="ortho")
        return (fx - fy).abs().mean()


class PSNRLoss(nn.Module):
    """Negative mean PSNR over images, scaled by 1/10 so it sits near the other losses' magnitude.

    Per-image log-MSE weights every image equally, however sharp it already is (NAFNet trains with it).
    """

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.log10(image_mse(x, y) + 1e-8).mean()


class NoHarm(nn.Module):
    """How many dB a clip's output is below its input, where it is below: mean over clips of
    relu(mean over frames of (PSNR(input) - PSNR(output))).

    A per-clip hinge against the input itself. The pixel losses are dominated by the blurriest clips of a
    batch, so a nearly sharp clip can lose a little without the sum noticing; this term weighs every clip
    that got worse by its loss in dB, whatever its blur, and is zero for every clip that got better.
    out, inp, truth: (B, T, 3, H, W) float [0, 1]. `floor` is the MSE added to both sides: a static clip
    (input == truth) then costs only where its output moves past about 50 dB from the input.
    """

    def __init__(self, floor: float = 1e-5):
        super().__init__()
        self.floor = floor

    def forward(self, out: torch.Tensor, inp: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        mse_out = image_mse(out, truth) + self.floor
        mse_in = image_mse(inp, truth) + self.floor
        lost_db = 10 * torch.log10(mse_out / mse_in).mean(dim=1)
        return torch.relu(lost_db).mean()


class ReconstructionLoss(nn.Module):
    """`pixel` ("charbonnier" or "psnr") + fft_weight * FFTL1."""

    def __init__(self, pixel: str = "charbonnier", fft_weight: float = 0.05):
        super().__init__()
        if pixel not in ("charbonnier", "psnr"):
            raise ValueError(f"unknown pixel loss {pixel!r} (charbonnier, psnr)")
        self.pixel = Charbonnier() if pixel == "charbonnier" else PSNRLoss()
        self.fft = FFTL1()
        self.fft_weight = fft_weight

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = self.pixel(x, y)
        if self.fft_weight:
            loss = loss + self.fft_weight * self.fft(x, y)
        return loss
