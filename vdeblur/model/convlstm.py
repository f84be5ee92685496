"""Convolutional LSTM cell (Shi et al. 2015). Imports only torch."""
from __future__ import annotations

import torch
from torch import nn


class ConvLSTMCell(nn.Module):
    """One ConvLSTM cell.

    forward(x, h, c) -> (h', c')
      x: (N, in_ch, H, W) float; h, c: (N, hidden, H, W) float. Outputs have the shape of h.
    """

    def __init__(self, in_ch: int, hidden: int, kernel: int = 3):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(in_ch + hidden, 4 * hidden, kernel, padding=kernel // 2)
        with torch.no_grad():
            # A forget-gate bias of +1 makes the cell keep its memory by default early in training.
            self.gates.bias.zero_()
            self.gates.bias[hidden:2 * hidden].fill_(1.0)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        i, f, o, g = torch.chunk(self.gates(torch.cat([x, h], dim=1)), 4, dim=1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        return h_new, c_new
