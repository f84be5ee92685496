"""Recurrent, causal deblurring network. Imports only torch.

At frame t the network sees the window of the K newest frames (t-K+1 ... t) and the ConvLSTM state
carried from frame t-1, and returns the sharp frame t and the new state. No future frames are used.

Layout: pixel-unshuffle x2 -> encoder at 1/2, 1/4, 1/8 -> ConvLSTM layer(s) at 1/8 -> residual blocks
-> decoder with skips -> pixel-shuffle x2 -> residual added to the current frame.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import nn

from .convlstm import ConvLSTMCell

State = tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class NetConfig:
    """Size of a DeblurNet. widths are the channels at 1/2, 1/4 and 1/8 of the input size."""

    window: int = 3
    widths: tuple[int, int, int] = (16, 32, 64)
    lstm_layers: int = 1
    coarse_blocks: int = 2
    fine_blocks: int = 1
    lstm_hidden: int = 0        # ConvLSTM channels; 0 = widths[2]. Fewer is much cheaper on a CPU.
    enc1_blocks: int = 1        # residual blocks at 1/2 scale in the encoder
    res_scale: bool = False     # training form: each residual branch has a learnable per-channel scale
                                # (skip-init, NAFNet's beta), which tolerates a high LR; `folded()` merges
                                # it into the branch's last conv, the form that ships and runs

    @property
    def hidden(self) -> int:
        return self.lstm_hidden or self.widths[2]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        """A config from a weights file's metadata, within sane bounds: an untrusted file must not make the
        loader allocate gigabytes (ValueError names the field)."""
        d = dict(d)
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}")
        d["widths"] = tuple(int(w) for w in d.get("widths", cls.widths))
        if len(d["widths"]) != 3:
            raise ValueError(f"widths needs 3 entries, got {len(d['widths'])}")
        for name, (lo, hi) in _BOUNDS.items():
            values = d["widths"] if name == "widths" else (d.get(name, getattr(cls, name)),)
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                    raise ValueError(f"{name} = {v!r} is outside {lo}..{hi}")
        return cls(**d)


# What a weights file's config may ask for (the shipped presets use a fraction of it).
_BOUNDS = {"window": (1, 16), "widths": (1, 512), "lstm_layers": (1, 8), "coarse_blocks": (0, 32),
           "fine_blocks": (0, 32), "lstm_hidden": (0, 1024), "enc1_blocks": (0, 32)}


PRESETS: dict[str, NetConfig] = {
    # CPU real-time model (about 0.6 M parameters).
    "small": NetConfig(window=3, widths=(16, 32, 64), lstm_layers=1, coarse_blocks=2, fine_blocks=1),
    # Quality model for GPUs (a few M parameters).
    "base": NetConfig(window=3, widths=(32, 64, 128), lstm_layers=1, coarse_blocks=5, fine_blocks=2),
    # Tests only: randomly initialised, never shipped.
    "tiny": NetConfig(window=2, widths=(4, 8, 8), lstm_layers=1, coarse_blocks=1, fine_blocks=0),
}


class ResBlock(nn.Module):
    """x + scale * conv2(relu(conv1(x))); scale (1, ch, 1, 1) starts at 0 (the block starts as the
    identity) and exists only in the training form."""

    def __init__(self, ch: int, scaled: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.scale = nn.Parameter(torch.zeros(1, ch, 1, 1)) if scaled else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.conv2(F.relu(self.conv1(x)))
        return x + (r * self.scale if self.scale is not None else r)


def _stage(ch: int, n: int, scaled: bool) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(ch, scaled) for _ in range(n)])


class DeblurNet(nn.Module):
    """step(window, *state) -> (frame, *state).

    window: (N, K, 3, H, W) float32 RGB in [0, 1], oldest first, H and W multiples of `stride`.
    state:  2 * lstm_layers tensors (h0, c0, h1, c1, ...), each (N, hidden, H/8, W/8) float32.
    frame:  (N, 3, H, W) float32, nominally [0, 1] (not clamped).
    """

    stride = 8

    def __init__(self, config: NetConfig = PRESETS["small"]):
        super().__init__()
        self.config = config
        k = config.window
        c1, c2, c3 = config.widths
        sc = config.res_scale
        self.enc1 = nn.Sequential(nn.Conv2d(12 * k, c1, 3, padding=1), nn.ReLU(inplace=True),
                                  _stage(c1, config.enc1_blocks, sc))
        self.enc2 = nn.Sequential(nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                                  _stage(c2, 1, sc))
        self.enc3 = nn.Sequential(nn.Conv2d(c2, c3, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                                  _stage(c3, 1, sc))
        hid = config.hidden
        self.cells = nn.ModuleList([ConvLSTMCell(c3, hid) for _ in range(config.lstm_layers)])
        # A narrower memory is projected back to the coarse width before it joins the features.
        self.proj = nn.ModuleList([nn.Conv2d(hid, c3, 1) for _ in range(config.lstm_layers)]) if hid != c3 else None
        self.coarse = _stage(c3, config.coarse_blocks, sc)
        self.up3 = nn.Sequential(nn.Conv2d(c3, 4 * c2, 1), nn.PixelShuffle(2))
        self.dec2 = _stage(c2, max(config.fine_blocks, 1), sc)
        self.up2 = nn.Sequential(nn.Conv2d(c2, 4 * c1, 1), nn.PixelShuffle(2))
        self.dec1 = _stage(c1, config.fine_blocks, sc)
        self.head = nn.Conv2d(c1, 12, 3, padding=1)
        # pixel_shuffle(2) of the head's 12 channels as a transposed conv with a 0/1 kernel: the same
        # function, and ONNX Runtime runs it faster than DepthToSpace (benchmarks/ort_graph.py).
        shuffle = torch.zeros(12, 3, 2, 2)
        for c in range(3):
            for i in range(2):
                for j in range(2):
                    shuffle[4 * c + 2 * i + j, c, i, j] = 1.0
        self.register_buffer("shuffle", shuffle, persistent=False)
        with torch.no_grad():
            # Start at the identity: the residual is zero until training moves it.
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()

    @property
    def window(self) -> int:
        return self.config.window

    @property
    def width(self) -> int:
        """Feature channels at full resolution (the memory planner's scale)."""
        return self.config.widths[0]

    @property
    def state_names(self) -> list[str]:
        return [f"{kind}{i}" for i in range(len(self.cells)) for kind in ("h", "c")]

    def state_shapes(self, n: int, h: int, w: int) -> list[tuple[int, int, int, int]]:
        """Shapes of the state tensors for frames of padded size h x w."""
        return [(n, self.config.hidden, h // self.stride, w // self.stride)] * (2 * len(self.cells))

    def receptive_radius(self) -> int:
        """Pixels on each side of an output pixel that one step reads from the window, rounded up to the
        stride: the margin a tile needs (measured once per configuration, see _receptive_radius)."""
        return _receptive_radius(self.config)

    def init_state(self, n: int, h: int, w: int, device=None, dtype=torch.float32) -> State:
        """Zero state for a batch of n frames of padded size h x w."""
        return tuple(torch.zeros(s, device=device, dtype=dtype) for s in self.state_shapes(n, h, w))

    def _first_conv(self, x: torch.Tensor) -> torch.Tensor:
        """pixel_unshuffle(x, 2) followed by enc1's 3x3 conv, computed as one 6x6 stride-2 conv on x.

        The two are the same function; the folded form avoids a 6-D transpose that costs a quarter of the
        step in ONNX Runtime. Weight index: W6[o, c, 2*dy + i, 2*dx + j] = W[o, 4*c + 2*i + j, dy, dx].
        """
        conv = self.enc1[0]
        o, c4 = conv.weight.shape[:2]
        w6 = conv.weight.reshape(o, c4 // 4, 2, 2, 3, 3).permute(0, 1, 4, 2, 5, 3).reshape(o, c4 // 4, 6, 6)
        return F.conv2d(x, w6, conv.bias, stride=2, padding=2)

    @staticmethod
    def _upsample(up: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        """up = (1x1 conv to 4*co channels, pixel_shuffle(2)), computed as a 2x2 stride-2 transposed conv.

        The same function: WT[ci, c, i, j] = W[4*c + 2*i + j, ci]. The conv's bias differs per sub-pixel,
        which a transposed conv's per-channel bias cannot hold, so it rides on an extra input channel of
        ones. ONNX Runtime's DepthToSpace and the layout reorders around it cost more than this
        (with the head fold below, small at 640x360 runs 1.11x the fps: benchmarks/ort_graph.py).
        """
        conv = up[0]
        c4, ci = conv.weight.shape[:2]
        wt = conv.weight.reshape(c4 // 4, 2, 2, ci).permute(3, 0, 1, 2)
        bias = conv.bias.reshape(1, c4 // 4, 2, 2)
        ones = x[:, :1] * 0 + 1
        return F.conv_transpose2d(torch.cat([x, ones], 1), torch.cat([wt, bias], 0), stride=2)

    def _pixel_shuffle(self, y: torch.Tensor) -> torch.Tensor:
        """pixel_shuffle(y, 2) for the head's (N, 12, h, w) output, as a transposed conv (see __init__)."""
        return F.conv_transpose2d(y, self.shuffle.to(y.dtype), stride=2)

    def scaled(self) -> "DeblurNet":
        """The training form of this network (a new module): residual scales of 1 when this one has none."""
        if self.config.res_scale:
            return self
        net = DeblurNet(replace(self.config, res_scale=True)).to(self.head.weight.device)
        missing, unexpected = net.load_state_dict(self.state_dict(), strict=False)
        assert not unexpected and all(k.endswith(".scale") for k in missing), (missing, unexpected)
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, ResBlock):
                    m.scale.fill_(1.0)
        return net

    def folded(self) -> "DeblurNet":
        """The same function without residual scales (a new module): what ships, exports and runs."""
        if not self.config.res_scale:
            return self
        net = DeblurNet(replace(self.config, res_scale=False)).to(self.head.weight.device)
        sd = {k: v.detach().clone() for k, v in self.state_dict().items() if not k.endswith(".scale")}
        for name, m in self.named_modules():
            if isinstance(m, ResBlock):
                s = m.scale.detach().reshape(-1)
                sd[f"{name}.conv2.weight"] = sd[f"{name}.conv2.weight"] * s[:, None, None, None]
                sd[f"{name}.conv2.bias"] = sd[f"{name}.conv2.bias"] * s
        net.load_state_dict(sd)
        return net.train(self.training)

    def forward(self, window: torch.Tensor, *state: torch.Tensor):
        return self.step(window, state)

    def step(self, window: torch.Tensor, state: State):
        n, k, ch, h, w = window.shape
        current = window[:, -1]
        e1 = self.enc1[1:](self._first_conv(window.reshape(n, k * ch, h, w)))
        e2 = self.enc2(e1)
        z = self.enc3(e2)
        new_state: list[torch.Tensor] = []
        for i, cell in enumerate(self.cells):
            hid, mem = cell(z, state[2 * i], state[2 * i + 1])
            new_state += [hid, mem]
            z = z + (self.proj[i](hid) if self.proj is not None else hid)
        z = self.coarse(z)
        d2 = self.dec2(self._upsample(self.up3, z) + e2)
        d1 = self.dec1(self._upsample(self.up2, d2) + e1)
        out = current + self._pixel_shuffle(self.head(d1))
        return (out, *new_state)


@functools.lru_cache(maxsize=None)
def _receptive_radius(config: NetConfig) -> int:
    """Measured, not derived: the extent of the nonzero gradient of one central output pixel with respect
    to the window, for a network of this configuration with random weights (so no path is zero by chance).
    The state's own reach (8 px per frame through the ConvLSTM's 3x3 conv at 1/8) is not included: that is
    what makes tiled output differ slightly from untiled output over time."""
    net = DeblurNet(replace(config, res_scale=False)).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    size = 64
    while True:
        window = torch.zeros(1, config.window, 3, size, size, requires_grad=True)
        out = net(window, *net.init_state(1, size, size))[0]
        out[0, :, size // 2, size // 2].sum().backward()
        ys, xs = torch.nonzero(window.grad.abs().sum((0, 1, 2)) > 0, as_tuple=True)
        reach = max(size // 2 - int(ys.min()), int(ys.max()) - size // 2, size // 2 - int(xs.min()),
                    int(xs.max()) - size // 2)
        if reach < size // 2 - net.stride:      # the whole field fits inside the probe
            return -(-reach // net.stride) * net.stride
        size *= 2


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
