"""GoPro-style motion-blur synthesis (Nah et al. 2017) in torch, on CPU or CUDA.

A virtual camera moves over a photograph (smooth random shake: translation, rotation, zoom, with an
optional slow pan) while textured objects move over it. Time is counted in sub-frame steps,
`steps_per_frame` per frame interval; a frame averages its `exposure` sub-frames in linear light and its
target is the middle sub-frame. Some clips halt for stretches (sharp frames inside a blurred clip) and
some are entirely static (sharp video the network must leave alone).

All images are float32 tensors in sRGB [0, 1] unless a name says linear.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class SynthConfig:
    height: int = 360
    width: int = 640
    frames: int = 24
    steps_per_frame: int = 16
    exposures: tuple[int, ...] = (7, 9, 11, 13, 15)   # sub-frames averaged per frame (odd: a middle exists)
    max_blur: float = 60.0      # px travelled by the camera during one exposure, at the clip's peak
    min_blur: float = 4.0
    max_rotation_blur: float = 18.0   # px travelled by a point 300 px from the rotation centre
    max_zoom_blur: float = 0.03       # relative scale change during one exposure
    objects: tuple[int, int] = (0, 3)
    static_prob: float = 0.08   # whole clip static: sharp input, target = input
    halt_prob: float = 0.25     # clip halts for a stretch of frames
    noise_read: tuple[float, float] = (0.0, 0.004)
    noise_shot: tuple[float, float] = (0.0, 4e-5)
    photo_scale: tuple[float, float] = (0.8, 1.4)   # photo pixels per output pixel

    def at_blur(self, max_blur: float) -> "SynthConfig":
        return replace(self, max_blur=max_blur, min_blur=min(self.min_blur, max_blur))


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp(min=1e-8) ** (1 / 2.4) - 0.055)


def _u(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * torch.rand((), generator=gen).item()


class _Wobble:
    """p(t) = pan * t + sum_i a_i sin(2 pi f_i t + phi_i), with peak |p'| about `peak_speed`."""

    def __init__(self, gen: torch.Generator, peak_speed: float, pan_share: float):
        n = 2
        self.freq = [_u(gen, 1 / 64, 1 / 14) for _ in range(n)]       # cycles per sub-frame step
        self.phase = [_u(gen, 0, 2 * math.pi) for _ in range(n)]
        w = [_u(gen, 0.2, 1.0) for _ in range(n)]
        s = sum(w)
        share = (1 - pan_share) * peak_speed
        self.amp = [share * wi / s / (2 * math.pi * f) for wi, f in zip(w, self.freq)]
        self.pan = pan_share * peak_speed * (1 if torch.rand((), generator=gen).item() < 0.5 else -1)

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        out = self.pan * t
        for a, f, ph in zip(self.amp, self.freq, self.phase):
            out = out + a * torch.sin(2 * math.pi * f * t + ph)
        return out


def _time_warp(gen: torch.Generator, cfg: SynthConfig, halts: bool, device) -> torch.Tensor:
    """Warped time g(step) for every sub-frame step; g' = 0 where the motion halts."""
    total = cfg.frames * cfg.steps_per_frame
    speed = torch.ones(total, device=device)
    if halts:
        start = int(_u(gen, 0, cfg.frames * 0.7)) * cfg.steps_per_frame
        length = int(_u(gen, 3, max(4, cfg.frames * 0.5))) * cfg.steps_per_frame
        ramp = cfg.steps_per_frame
        idx = torch.arange(total, device=device, dtype=torch.float32)
        down = ((idx - start) / ramp).clamp(0, 1)
        up = ((idx - (start + length)) / ramp).clamp(0, 1)
        speed = 1 - down + up
    return torch.cumsum(speed, 0) - speed


def _ellipse_texture(gen: torch.Generator, photo_lin: torch.Tensor, size: int):
    """Random textured object: (3, size, size) linear colour and (1, size, size) soft alpha."""
    _, h, w = photo_lin.shape
    y0 = int(_u(gen, 0, max(1, h - size)))
    x0 = int(_u(gen, 0, max(1, w - size)))
    tex = photo_lin[:, y0:y0 + size, x0:x0 + size]
    if tex.shape[1] != size or tex.shape[2] != size:
        tex = F.interpolate(tex[None], size=(size, size), mode="bilinear", align_corners=False)[0]
    if torch.rand((), generator=gen).item() < 0.3:  # some flat-coloured objects, like cars or clothing
        tex = tex * 0.3 + torch.rand(3, 1, 1, generator=gen).to(tex.device) * 0.7
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size, device=tex.device),
                            torch.linspace(-1, 1, size, device=tex.device), indexing="ij")
    ax, ay = _u(gen, 0.5, 1.0), _u(gen, 0.5, 1.0)
    rot = _u(gen, 0, math.pi)
    u = xx * math.cos(rot) + yy * math.sin(rot)
    v = -xx * math.sin(rot) + yy * math.cos(rot)
    if torch.rand((), generator=gen).item() < 0.5:
        r = (u / ax) ** 2 + (v / ay) ** 2              # ellipse
    else:
        r = torch.maximum((u / ax).abs(), (v / ay).abs()) ** 2  # rectangle
    alpha = ((1 - r) * size / 4).clamp(0, 1)[None]     # about two pixels of soft edge
    return tex, alpha


class ClipRenderer:
    """Renders one clip: blurred frames (before noise/compression) and sharp targets."""

    def __init__(self, cfg: SynthConfig, gen: torch.Generator, photo: torch.Tensor,
                 object_photos: list[torch.Tensor]):
        """photo, object_photos: (3, Hp, Wp) sRGB [0, 1] on the device to render on."""
        self.cfg = cfg
        self.gen = gen
        dev = photo.device
        self.device = dev
        self.photo_lin = srgb_to_linear(photo)[None]
        _, _, hp, wp = self.photo_lin.shape
        self.static = torch.rand((), generator=gen).item() < cfg.static_prob
        halts = torch.rand((), generator=gen).item() < cfg.halt_prob
        self.exposure = cfg.exposures[int(torch.randint(len(cfg.exposures), (), generator=gen))]
        span = self.exposure - 1
        blur = _u(gen, cfg.min_blur, cfg.max_blur)
        pan = _u(gen, 0, 0.35) if torch.rand((), generator=gen).item() < 0.5 else 0.0
        angle = _u(gen, 0, 2 * math.pi)
        # Split the translation speed between axes along a random dominant direction.
        self.px = _Wobble(gen, blur / span * abs(math.cos(angle)) + 0.15 * blur / span, pan)
        self.py = _Wobble(gen, blur / span * abs(math.sin(angle)) + 0.15 * blur / span, pan)
        self.rot = _Wobble(gen, _u(gen, 0, cfg.max_rotation_blur) / 300 / span, 0.0)
        self.zoom = _Wobble(gen, _u(gen, 0, cfg.max_zoom_blur) / span, 0.0)
        self.warp = _time_warp(gen, cfg, halts, dev)
        # Camera centre in photo pixels and the rotation centre relative to the frame centre.
        self.cx = _u(gen, 0.35, 0.65) * wp
        self.cy = _u(gen, 0.35, 0.65) * hp
        self.rc = (_u(gen, -0.5, 0.5) * cfg.width, _u(gen, -0.5, 0.5) * cfg.height)
        self.hp, self.wp = hp, wp
        self.scale = _u(gen, *cfg.photo_scale)
        n_obj = 0 if self.static else int(torch.randint(cfg.objects[0], cfg.objects[1] + 1, (), generator=gen))
        self.objects = []
        for _ in range(n_obj):
            src = object_photos[int(torch.randint(len(object_photos), (), generator=gen))]
            size = int(_u(gen, 24, min(160, cfg.height * 0.6)))
            tex, alpha = _ellipse_texture(gen, srgb_to_linear(src), size)
            ob = {
                "tex": torch.cat([tex, alpha], 0)[None],
                "x0": _u(gen, -0.5, 0.5) * cfg.width, "y0": _u(gen, -0.5, 0.5) * cfg.height,
                "mx": _Wobble(gen, _u(gen, 0, cfg.max_blur) / span, _u(gen, 0.3, 1.0)),
                "my": _Wobble(gen, _u(gen, 0, cfg.max_blur * 0.5) / span, _u(gen, 0.0, 1.0)),
                "spin": _Wobble(gen, _u(gen, 0, 0.02), 0.5),
                "size": size,
            }
            self.objects.append(ob)
        ys = torch.arange(cfg.height, device=dev, dtype=torch.float32) - (cfg.height - 1) / 2
        xs = torch.arange(cfg.width, device=dev, dtype=torch.float32) - (cfg.width - 1) / 2
        self.gy, self.gx = torch.meshgrid(ys, xs, indexing="ij")

    def _render(self, steps: torch.Tensor) -> torch.Tensor:
        """Linear-light sub-frames at the given (warped-time) steps: (S, 3, H, W)."""
        t = self.warp[steps] if not self.static else torch.zeros_like(steps, dtype=torch.float32)
        s = t.numel()
        rot = self.rot(t)[:, None, None]
        zoom = torch.exp(self.zoom(t))[:, None, None] / self.scale
        # Output pixel -> photo pixel: rotate and zoom about the rotation centre, then translate.
        x = self.gx[None] - self.rc[0]
        y = self.gy[None] - self.rc[1]
        xr = (x * torch.cos(rot) - y * torch.sin(rot)) / zoom + self.rc[0] + self.cx + self.px(t)[:, None, None]
        yr = (x * torch.sin(rot) + y * torch.cos(rot)) / zoom + self.rc[1] + self.cy + self.py(t)[:, None, None]
        grid = torch.stack([(xr + 0.5) / self.wp * 2 - 1, (yr + 0.5) / self.hp * 2 - 1], -1)
        h, w = self.cfg.height, self.cfg.width
        img = F.grid_sample(self.photo_lin, grid.reshape(1, s * h, w, 2), mode="bicubic",
                            padding_mode="reflection", align_corners=False)
        img = img.reshape(3, s, h, w).permute(1, 0, 2, 3).clamp(min=0)
        for ob in self.objects:
            ang = ob["spin"](t)[:, None, None]
            ox = self.gx[None] - ob["x0"] - ob["mx"](t)[:, None, None]
            oy = self.gy[None] - ob["y0"] - ob["my"](t)[:, None, None]
            u = (ox * torch.cos(ang) + oy * torch.sin(ang)) / (ob["size"] / 2)
            v = (-ox * torch.sin(ang) + oy * torch.cos(ang)) / (ob["size"] / 2)
            g = torch.stack([u, v], -1).reshape(1, s * h, w, 2)
            layer = F.grid_sample(ob["tex"], g, mode="bilinear", padding_mode="zeros", align_corners=False)
            layer = layer.reshape(4, s, h, w).permute(1, 0, 2, 3)
            a = layer[:, 3:4]
            img = img * (1 - a) + layer[:, :3].clamp(min=0) * a
        return img

    def clip(self, max_pixels: int = 1 << 26) -> tuple[torch.Tensor, torch.Tensor]:
        """(blurred, sharp) for every frame, each (T, 3, H, W) sRGB [0, 1], blurred without noise.

        Renders as many frames per call as fit in `max_pixels` sub-frame pixels.
        """
        cfg = self.cfg
        per = max(1, max_pixels // (self.exposure * cfg.height * cfg.width))
        blurred, sharp = [], []
        for first in range(0, cfg.frames, per):
            idx = torch.arange(first, min(cfg.frames, first + per), device=self.device)
            steps = (idx[:, None] * cfg.steps_per_frame
                     + torch.arange(self.exposure, device=self.device)[None]).reshape(-1)
            sub = self._render(steps).reshape(len(idx), self.exposure, 3, cfg.height, cfg.width)
            blurred.append(linear_to_srgb(sub.mean(1)))
            sharp.append(linear_to_srgb(sub[:, self.exposure // 2]))
        return torch.cat(blurred), torch.cat(sharp)

    def frame(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(blurred, sharp) for frame `index`, each (3, H, W) sRGB [0, 1], blurred without noise."""
        start = index * self.cfg.steps_per_frame
        steps = torch.arange(start, start + self.exposure, device=self.device)
        sub = self._render(steps)
        blurred = linear_to_srgb(sub.mean(0))
        sharp = linear_to_srgb(sub[self.exposure // 2])
        return blurred, sharp


def add_noise(img: torch.Tensor, gen: torch.Generator, cfg: SynthConfig,
              device_gen: torch.Generator | None = None) -> torch.Tensor:
    """Sensor noise (read + shot), quantised to 8 bits. img: (..., 3, H, W) sRGB [0, 1].

    gen (CPU) draws the noise levels; the noise itself comes from device_gen when given (it must live on
    img's device), else from gen.
    """
    read = _u(gen, *cfg.noise_read)
    shot = _u(gen, *cfg.noise_shot)
    sigma = torch.sqrt(read ** 2 + shot * img.clamp(min=0))
    if device_gen is not None:
        noise = torch.randn(img.shape, generator=device_gen, device=img.device)
    else:
        noise = torch.randn(img.shape, generator=gen).to(img.device)
    return torch.round((img + sigma * noise).clamp(0, 1) * 255) / 255


_DCT8 = None


def _dct_matrix(device) -> torch.Tensor:
    global _DCT8
    if _DCT8 is None:
        k = torch.arange(8, dtype=torch.float32)
        m = torch.cos(math.pi * (2 * k[None] + 1) * k[:, None] / 16) * math.sqrt(2 / 8)
        m[0] /= math.sqrt(2)
        _DCT8 = m
    return _DCT8.to(device)


def codec_proxy(img: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """A cheap stand-in for lossy video coding, differentiable-free and batched (used where no encoder
    runs, e.g. online synthesis on a GPU): BT.709 YCbCr, 4:2:0 chroma, 8x8 DCT with uniform quantisation.

    img: (N, 3, H, W) sRGB [0, 1], H and W multiples of 16. step: (N,) quantiser step in 8-bit units.
    """
    n, _, h, w = img.shape
    r, g, b = img[:, 0], img[:, 1], img[:, 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    cb = (b - y) / 1.8556
    cr = (r - y) / 1.5748
    c = F.avg_pool2d(torch.stack([cb, cr], 1), 2)
    m = _dct_matrix(img.device)

    def quant(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        nn_, ch, hh, ww = x.shape
        blocks = x.reshape(nn_, ch, hh // 8, 8, ww // 8, 8).permute(0, 1, 2, 4, 3, 5)
        coef = m @ blocks @ m.T
        qq = (q / 255).reshape(-1, 1, 1, 1, 1, 1)
        # Coarser steps for higher frequencies, as codecs' quantisation matrices do.
        freq = 1 + (torch.arange(8, device=x.device)[:, None] + torch.arange(8, device=x.device)[None]) / 4
        qq = qq * freq
        coef = torch.round(coef / qq) * qq
        out = m.T @ coef @ m
        return out.permute(0, 1, 2, 4, 3, 5).reshape(nn_, ch, hh, ww)

    y = quant(y[:, None], step)[:, 0]
    c = quant(c, step * 1.5)
    c = F.interpolate(c, scale_factor=2, mode="bilinear", align_corners=False)
    cb, cr = c[:, 0], c[:, 1]
    r = y + 1.5748 * cr
    b = y + 1.8556 * cb
    g = (y - 0.2126 * r - 0.0722 * b) / 0.7152
    return (torch.round(torch.stack([r, g, b], 1).clamp(0, 1) * 255) / 255)
