"""Adversarial fine-tuning parts, as modules: a PatchGAN discriminator, the hinge loss, and a temporal
consistency loss that keeps the adversarial term from making the video flicker.

Frames are (N, 3, H, W) float in [0, 1]; sequences (B, T, 3, H, W).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """A PatchGAN (Isola et al. 2017) with spectral normalisation: one real/fake logit per overlapping
    patch of about 46 px (four 4x4 convs, three of stride 2). (N, 3, H, W) in [0, 1] -> (N, 1, H/8 - 1, W/8 - 1)."""

    def __init__(self, width: int = 32):
        super().__init__()
        w = width
        layers, ch = [], 3
        for out, stride in ((w, 2), (2 * w, 2), (4 * w, 2), (4 * w, 1)):
            layers += [spectral_norm(nn.Conv2d(ch, out, 4, stride, 1)), nn.LeakyReLU(0.2, inplace=True)]
            ch = out
        layers.append(spectral_norm(nn.Conv2d(ch, 1, 3, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)


class HingeLoss(nn.Module):
    """Hinge GAN loss (Lim & Ye 2017). discriminator(real, fake logits); generator(fake logits)."""

    @staticmethod
    def discriminator(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    @staticmethod
    def generator(fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


class TemporalConsistency(nn.Module):
    """Charbonnier distance between the output's and the truth's frame-to-frame changes:
    zero when the output changes over time exactly as the truth does, so added flicker costs."""

    def __init__(self, eps: float = 1e-3):
        super().__init__()
        self.eps = eps

    def forward(self, out: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        d_out = out[:, 1:] - out[:, :-1]
        d_truth = truth[:, 1:] - truth[:, :-1]
        return torch.sqrt((d_out - d_truth) ** 2 + self.eps ** 2).mean()
