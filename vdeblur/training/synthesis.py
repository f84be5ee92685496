"""GoPro-style motion-blur synthesis (Nah et al. 2017), batched in torch on the CPU or a GPU.

A virtual camera shakes over a photograph (translation, rotation, zoom) while textured objects move over
it. Each frame integrates E sub-frames spread over its exposure (a duty cycle of 1/8 to 1 of the frame
interval) in linear light; the target is the scene at the exposure's mid time. Scene radiance may exceed
the sensor's range (highlights are boosted), sensor noise (shot + read) is added in linear light and the
result clips at full well *before* the tone curve, so bright points smear into saturated streaks as they
do in real footage. Blur lengths follow a `BlurProfile`: realistic handheld shake is mostly 1-15 px per
exposure at 640x360 with a tail to 60 px, and it varies from frame to frame (the shake's speed does).

Everything is vectorised over clips: one call renders n clips with a handful of kernels per frame, no
per-clip Python loop. Images are float32 sRGB [0, 1] unless a name says linear; layouts are (N, T, 3, H, W).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class BlurProfile:
    """The distribution of motion in a set of clips. Lengths are px per exposure in output pixels.

    A clip's typical (RMS) camera blur is drawn log-uniformly from `blur_px`, or from `tail_px` with
    probability `tail_prob`; the shake makes individual frames sharper and blurrier than that.
    """

    blur_px: tuple[float, float] = (1.0, 15.0)
    tail_prob: float = 0.2
    tail_px: tuple[float, float] = (15.0, 60.0)
    duty: tuple[float, float] = (0.125, 1.0)     # exposure / frame interval, log-uniform
    static_prob: float = 0.06                     # whole clip static: sharp input, target = input
    halt_prob: float = 0.2                        # the camera stops for a stretch of frames
    object_prob: float = 0.6                      # chance of each of up to `max_objects` moving objects
    max_objects: int = 3
    # Nearly sharp clips under a short exposure: little blur, but the gain a short exposure needs makes
    # them noisy, so sharpening them amplifies noise. A clip is one with probability `near_sharp_prob`.
    near_sharp_prob: float = 0.0
    near_sharp_px: tuple[float, float] = (0.3, 3.0)
    near_sharp_duty: tuple[float, float] = (0.125, 0.3)


PROFILES: dict[str, BlurProfile] = {
    # What training sees: realistic handheld shake, a heavy tail, sharp clips and sharp stretches.
    "train": BlurProfile(),
    # Fine-tuning that must not hurt nearly sharp footage: `train` with a third of the clips nearly sharp.
    "near_sharp": BlurProfile(near_sharp_prob=0.33),
    # Validation: today's heavy synthetic blur (4-60 px, uniform), no static clips or halts.
    "heavy": BlurProfile(blur_px=(6.0, 40.0), tail_prob=0.0, duty=(0.45, 0.95), static_prob=0.0, halt_prob=0.0),
    # Validation: mild to moderate handheld shake (1-15 px), a few sharp stretches.
    "mild": BlurProfile(blur_px=(1.0, 15.0), tail_prob=0.0, static_prob=0.0, halt_prob=0.3),
    # Validation: static camera, no objects: the network must give back what it got.
    "sharp": BlurProfile(static_prob=1.0, object_prob=0.0),
}


@dataclass(frozen=True)
class SynthSpec:
    """Size of the rendered clips and the photometric ranges (per clip, uniform unless noted)."""

    height: int = 256
    width: int = 256
    frames: int = 8
    profile: BlurProfile = field(default_factory=BlurProfile)
    subframes: int = 0                # sub-frames per exposure; 0: enough that points move <= 2.5 px between
                                      # two (reads the motion on the host: use a fixed count on a GPU)
    max_subframes: int = 32
    max_speed: float = 90.0           # px per frame interval; the duty cycle is raised to respect it
    photo_scale: tuple[float, float] = (0.8, 1.4)   # photo pixels per output pixel
    exposure_gain: tuple[float, float] = (0.7, 1.3)
    highlight_prob: float = 0.5       # clips whose highlights are brighter than the sensor's range
    highlight_gain: tuple[float, float] = (1.0, 8.0)
    noise_read: tuple[float, float] = (0.0, 0.004)  # std in linear full-scale units
    noise_shot: tuple[float, float] = (0.0, 4e-4)   # variance per unit of linear signal, at full duty
    codec_step: tuple[float, float] = (1.0, 6.0)    # codec proxy quantiser step (8-bit units)

    def with_profile(self, name: str) -> "SynthSpec":
        return replace(self, profile=PROFILES[name])


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp(min=1e-8) ** (1 / 2.4) - 0.055)


def _uniform(gen: torch.Generator, n: int, lo: float, hi: float, *shape: int) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand((n, *shape), generator=gen, device=gen.device)


def _chance(gen: torch.Generator, p: float, *shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=gen, device=gen.device) < p


def _log_uniform(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return torch.exp(_uniform(gen, n, math.log(lo), math.log(hi)))


class _Shake:
    """n independent 1-D trajectories p(t) = pan * t + sum_k a_k sin(2 pi f_k t + phi_k), t in frames.

    The amplitudes give an RMS speed of `rms` (units per frame interval) at 1 to 10 Hz for 30 fps video.
    """

    def __init__(self, gen: torch.Generator, rms: torch.Tensor, pan: torch.Tensor, k: int = 3):
        n = rms.shape[0]
        self.freq = _uniform(gen, n, 0.03, 0.35, k)                      # cycles per frame
        self.phase = _uniform(gen, n, 0, 2 * math.pi, k)
        w = _uniform(gen, n, 0.2, 1.0, k)
        w = w / w.norm(dim=1, keepdim=True)
        self.amp = rms[:, None] * w * math.sqrt(2) / (2 * math.pi * self.freq)
        self.pan = pan
        self.peak_speed = (self.amp * 2 * math.pi * self.freq).sum(1) + pan.abs()

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        """t: (n, S) -> (n, S)."""
        s = torch.sin(2 * math.pi * self.freq[:, None] * t[..., None] + self.phase[:, None])
        return self.pan[:, None] * t + (self.amp[:, None] * s).sum(-1)


@dataclass
class Motion:
    """Sampled motion of n clips (CPU tensors, shape (n,) unless noted)."""

    static: torch.Tensor            # bool
    duty: torch.Tensor              # exposure / frame interval
    x: _Shake                       # camera translation in output px
    y: _Shake
    rot: _Shake                     # radians
    zoom: _Shake                    # log scale
    halt: torch.Tensor              # (n, 2) frames [start, end) in which the camera stands still
    scale: torch.Tensor             # photo px per output px
    centre: torch.Tensor            # (n, 2) photo-patch offset of the view centre, px
    rot_centre: torch.Tensor        # (n, 2) output px from the frame centre
    objects: dict                   # per-slot tensors (n, M, ...)
    gain: torch.Tensor              # exposure gain (linear)
    highlight: torch.Tensor         # highlight boost (0 = none)
    read: torch.Tensor
    shot: torch.Tensor
    codec_step: torch.Tensor

    def warp(self, t: torch.Tensor) -> torch.Tensor:
        """Time as the camera sees it: frozen inside the halt, (n, S) -> (n, S)."""
        h0, h1 = self.halt[:, :1], self.halt[:, 1:]
        return t - (t - h0).clamp(min=0).minimum(h1 - h0)


def sample_motion(spec: SynthSpec, n: int, gen: torch.Generator) -> Motion:
    p = spec.profile
    dev = gen.device
    static = _chance(gen, p.static_prob, n)
    blur = _log_uniform(gen, n, *p.blur_px)
    tail = _chance(gen, p.tail_prob, n)
    blur = torch.where(tail, _log_uniform(gen, n, *p.tail_px), blur)
    duty = _log_uniform(gen, n, *p.duty)
    if p.near_sharp_prob > 0:    # drawn only when asked, so the other profiles' random streams stay as they were
        near = _chance(gen, p.near_sharp_prob, n) & ~tail
        blur = torch.where(near, _log_uniform(gen, n, *p.near_sharp_px), blur)
        duty = torch.where(near, _log_uniform(gen, n, *p.near_sharp_duty), duty)
    duty = torch.maximum(duty, (blur / spec.max_speed).clamp(max=1.0))
    speed = blur / duty                                     # RMS px per frame interval
    angle = _uniform(gen, n, 0, 2 * math.pi)
    ax, ay = angle.cos().abs() + 0.25, angle.sin().abs() + 0.25
    norm = (ax ** 2 + ay ** 2).sqrt()
    zero = torch.zeros(n, device=dev)
    pan = torch.where(_chance(gen, 0.3, n), _uniform(gen, n, -0.4, 0.4), zero) * speed
    rot_px = _uniform(gen, n, 0.0, 0.3) * blur / duty       # px per frame at 300 px from the centre
    zoom = _uniform(gen, n, 0.0, 0.004) * blur / duty / 15
    halts = _chance(gen, p.halt_prob, n)
    h0 = torch.floor(_uniform(gen, n, 0, spec.frames * 0.7))
    hl = torch.floor(_uniform(gen, n, 2, max(3.0, spec.frames * 0.5)))
    halt = torch.stack([h0, h0 + hl], 1) * halts[:, None]
    m = p.max_objects
    present = _chance(gen, p.object_prob, n, m) & ~static[:, None]
    o_blur = _log_uniform(gen, n * m, *p.blur_px).reshape(n, m)
    o_dir = _uniform(gen, n, 0, 2 * math.pi, m)
    short = min(spec.height, spec.width)
    objects = {
        "present": present,
        "size": _uniform(gen, n, 0.15, 0.6, m) * min(short, 320),
        "pos": torch.stack([_uniform(gen, n, -0.4 * spec.width, 0.4 * spec.width, m),
                            _uniform(gen, n, -0.4 * spec.height, 0.4 * spec.height, m)], -1),
        "vel": torch.stack([o_dir.cos(), o_dir.sin()], -1) * (o_blur / duty[:, None]).clamp(max=spec.max_speed)[..., None],
        "spin": _uniform(gen, n, -0.03, 0.03, m),
        "patch": torch.randint(1 << 30, (n, m), generator=gen, device=dev),
        "window": _uniform(gen, n, 0.1, 0.4, m, 3),     # texture source: size, x, y (fractions of the patch)
        "flat": _chance(gen, 0.3, n, m),
        "colour": _uniform(gen, n, 0.0, 1.0, m, 3),
        "rect": _chance(gen, 0.5, n, m),
        "aspect": _uniform(gen, n, 0.5, 1.0, m, 2),
        "angle": _uniform(gen, n, 0, math.pi, m),
    }
    return Motion(
        static=static, duty=duty,
        x=_Shake(gen, torch.where(static, zero, speed * ax / norm), torch.where(static, zero, pan)),
        y=_Shake(gen, torch.where(static, zero, speed * ay / norm), torch.where(static, zero, pan * 0.3)),
        rot=_Shake(gen, torch.where(static, zero, rot_px / 300), zero),
        zoom=_Shake(gen, torch.where(static, zero, zoom), zero),
        halt=halt, scale=_uniform(gen, n, *spec.photo_scale),
        centre=_uniform(gen, n, -0.15, 0.15, 2),
        rot_centre=torch.stack([_uniform(gen, n, -spec.width / 2, spec.width / 2),
                                _uniform(gen, n, -spec.height / 2, spec.height / 2)], 1),
        objects=objects,
        gain=_uniform(gen, n, *spec.exposure_gain),
        highlight=torch.where(_chance(gen, spec.highlight_prob, n),
                              _uniform(gen, n, *spec.highlight_gain), zero),
        read=_uniform(gen, n, *spec.noise_read), shot=_uniform(gen, n, *spec.noise_shot),
        codec_step=_uniform(gen, n, *spec.codec_step),
    )


def subframe_count(spec: SynthSpec, motion: Motion) -> int:
    """Sub-frames per exposure: spec.subframes, or (0) so that no point moves more than ~2.5 px between two
    of them, which reads the motion on the host."""
    if spec.subframes:
        return spec.subframes
    peak = (motion.x.peak_speed ** 2 + motion.y.peak_speed ** 2).sqrt() * motion.duty
    return int(min(spec.max_subframes, max(5, math.ceil(float(peak.max()) / 2.5) + 1)))


def _background_theta(spec: SynthSpec, m: Motion, t: torch.Tensor, patch_hw: tuple[int, int]) -> torch.Tensor:
    """affine_grid matrices (n, S, 2, 3): output normalised coords -> photo-patch normalised coords."""
    ph, pw = patch_hw
    tw = m.warp(t)
    th = m.rot(tw)
    k = m.scale[:, None] / torch.exp(m.zoom(tw))
    c, s = th.cos(), th.sin()
    rcx, rcy = m.rot_centre[:, :1], m.rot_centre[:, 1:]
    # Rotate about the rotation centre, scale into photo pixels, then translate by the shake.
    shift = m.scale[:, None]              # the shake is in output px; the patch is in photo px
    tx = k * (rcx - (c * rcx - s * rcy)) + m.centre[:, :1] * pw + shift * m.x(tw)
    ty = k * (rcy - (s * rcx + c * rcy)) + m.centre[:, 1:] * ph + shift * m.y(tw)
    w, h = spec.width, spec.height
    row0 = torch.stack([k * c * w / pw, -k * s * h / pw, tx * 2 / pw], -1)
    row1 = torch.stack([k * s * w / ph, k * c * h / ph, ty * 2 / ph], -1)
    return torch.stack([row0, row1], -2)


def _object_theta(spec: SynthSpec, m: Motion, t: torch.Tensor, j: int) -> torch.Tensor:
    """affine_grid matrices (n, S, 2, 3): output normalised coords -> object j's texture coords.

    Objects move on the screen with their own velocity plus the camera's shake (they are in the scene).
    """
    o = m.objects
    tw = m.warp(t)
    ox = o["pos"][:, j, :1] + o["vel"][:, j, :1] * t - m.x(tw)
    oy = o["pos"][:, j, 1:] + o["vel"][:, j, 1:] * t - m.y(tw)
    phi = o["spin"][:, j, None] * t
    c, s = phi.cos(), phi.sin()
    sz = o["size"][:, j, None]
    w, h = spec.width, spec.height
    row0 = torch.stack([c * w / sz, s * h / sz, -(c * ox + s * oy) * 2 / sz], -1)
    row1 = torch.stack([-s * w / sz, c * h / sz, (s * ox - c * oy) * 2 / sz], -1)
    return torch.stack([row0, row1], -2)


def _object_textures(m: Motion, bank: torch.Tensor, size: int = 64) -> torch.Tensor:
    """(n, M, 4, size, size): linear RGB and a soft alpha (ellipse or rectangle) per object slot."""
    o = m.objects
    n, mm = o["present"].shape
    dev = bank.device
    idx = (o["patch"] % bank.shape[0]).reshape(-1)
    win = o["window"].reshape(-1, 3)
    theta = torch.zeros(n * mm, 2, 3, device=dev)
    theta[:, 0, 0] = win[:, 0]
    theta[:, 1, 1] = win[:, 0]
    theta[:, :, 2] = (win[:, 1:] - 0.5) * 2 * (1 - win[:, :1])
    grid = F.affine_grid(theta, [n * mm, 3, size, size], align_corners=False)
    tex = srgb_to_linear(F.grid_sample(bank[idx].float() / 255, grid, mode="bilinear", align_corners=False))
    flat = o["flat"].reshape(-1, 1, 1, 1)
    tex = torch.where(flat, tex * 0.3 + srgb_to_linear(o["colour"].reshape(-1, 3, 1, 1)) * 0.7, tex)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size, device=dev), torch.linspace(-1, 1, size, device=dev),
                            indexing="ij")
    ang = o["angle"].reshape(-1, 1, 1)
    asp = o["aspect"].reshape(-1, 2, 1, 1)
    u = (xx * ang.cos() + yy * ang.sin()) / asp[:, 0]
    v = (-xx * ang.sin() + yy * ang.cos()) / asp[:, 1]
    r = torch.where(o["rect"].reshape(-1, 1, 1), torch.maximum(u.abs(), v.abs()) ** 2, u ** 2 + v ** 2)
    alpha = ((1 - r) * size / 4).clamp(0, 1) * o["present"].reshape(-1, 1, 1)
    return torch.cat([tex, alpha[:, None]], 1).reshape(n, mm, 4, size, size)


def _render_linear(spec: SynthSpec, m: Motion, t: torch.Tensor, photo_lin: torch.Tensor,
                   textures: torch.Tensor) -> torch.Tensor:
    """Scene radiance at times t (n, S): (n, S, 3, H, W) linear, highlights may exceed 1."""
    n, s = t.shape
    h, w = spec.height, spec.width
    dev = photo_lin.device
    theta = _background_theta(spec, m, t, tuple(photo_lin.shape[-2:]))
    grid = F.affine_grid(theta.reshape(n * s, 2, 3), [n * s, 3, h, w], align_corners=False)
    img = F.grid_sample(photo_lin, grid.reshape(n, s * h, w, 2), mode="bicubic", padding_mode="reflection",
                        align_corners=False).clamp(min=0)
    img = img.reshape(n, 3, s, h, w).transpose(1, 2)
    for j in range(textures.shape[1]):
        theta = _object_theta(spec, m, t, j)
        grid = F.affine_grid(theta.reshape(n * s, 2, 3), [n * s, 4, h, w], align_corners=False)
        layer = F.grid_sample(textures[:, j], grid.reshape(n, s * h, w, 2), mode="bilinear",
                              padding_mode="zeros", align_corners=False)
        layer = layer.reshape(n, 4, s, h, w).transpose(1, 2)
        a = layer[:, :, 3:]
        img = img * (1 - a) + layer[:, :, :3] * a
    return img


def render(spec: SynthSpec, bank: torch.Tensor, gen: torch.Generator, n: int,
           pixel_budget: int = 1 << 25) -> dict:
    """Render n clips from a photo bank.

    bank: (P, 3, Hp, Wp) uint8 sRGB photo patches on the rendering device (patches larger than the frame
    leave room for the shake). gen: a generator on the same device, for every random choice and the noise.
    On a GPU with spec.subframes set, nothing here waits for the device.
    Returns {"blurred": (n, T, 3, H, W) sRGB [0, 1] after noise, 8-bit quantised, before any codec;
    "sharp": the same shape, the targets (= blurred for static clips); "blur_px": (n, T) path length of
    the frame centre during each exposure; "motion": the sampled Motion}.
    """
    dev = bank.device
    m = sample_motion(spec, n, gen)
    e = subframe_count(spec, m)
    pick = torch.randint(bank.shape[0], (n,), generator=gen, device=dev)
    photo = srgb_to_linear(bank[pick].float() / 255)
    # Highlights above the sensor's range: boost what is near white, smoothly.
    srgb_luma = bank[pick].float().amax(1, keepdim=True) / 255
    boost = ((srgb_luma - 0.85) / 0.15).clamp(0, 1) ** 2
    photo = photo * (1 + m.highlight.reshape(n, 1, 1, 1) * boost)
    textures = _object_textures(m, bank)
    tf, h, w = spec.frames, spec.height, spec.width
    offsets = (torch.arange(e, device=dev) + 0.5) / e - 0.5   # sub-frame times within an exposure
    per = max(1, pixel_budget // (n * (e + 1) * h * w))
    blurred, sharp, blur_px = [], [], []
    gain = m.gain.reshape(n, 1, 1, 1, 1, 1)
    for f0 in range(0, tf, per):
        frames = torch.arange(f0, min(tf, f0 + per), dtype=torch.float32, device=dev)
        sub = frames[:, None] + m.duty[:, None, None] * offsets            # (n, F, E)
        t = torch.cat([sub, frames.expand(n, -1)[..., None]], -1)          # last: mid-exposure target
        lin = _render_linear(spec, m, t.reshape(n, -1), photo, textures)
        lin = lin.reshape(n, len(frames), e + 1, 3, h, w) * gain
        blurred.append(lin[:, :, :e].mean(2))
        sharp.append(lin[:, :, e])
        tw = m.warp(sub.reshape(n, -1)).reshape(sub.shape)
        path = torch.stack([m.x(tw.reshape(n, -1)), m.y(tw.reshape(n, -1))], -1).reshape(n, len(frames), e, 2)
        blur_px.append((path.diff(dim=2).norm(dim=-1).sum(-1)) / (1 - 1 / e))
    blurred_lin = torch.cat(blurred, 1)
    sharp_lin = torch.cat(sharp, 1)
    # Sensor: shot noise (more at short exposures, which need more gain) and read noise, then full well.
    shot = (m.shot / m.duty).reshape(n, 1, 1, 1, 1)
    read = m.read.reshape(n, 1, 1, 1, 1)
    sigma = (read ** 2 + shot * blurred_lin.clamp(min=0)).sqrt()
    noise = torch.randn(blurred_lin.shape, generator=gen, device=dev)
    blurred = quantise(linear_to_srgb((blurred_lin + sigma * noise).clamp(0, 1)))
    sharp = linear_to_srgb(sharp_lin.clamp(0, 1))
    static = m.static.reshape(n, 1, 1, 1, 1)
    sharp = torch.where(static, blurred, quantise(sharp))
    return {"blurred": blurred, "sharp": sharp, "blur_px": torch.cat(blur_px, 1) * (~m.static[:, None]),
            "motion": m, "subframes": e, "pick": pick}


def quantise(x: torch.Tensor) -> torch.Tensor:
    """Round [0, 1] values to 8-bit steps."""
    return torch.round(x.clamp(0, 1) * 255) / 255


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round_().to(torch.uint8)


class PhotoBank:
    """Fixed-size patches of photographs on one device, for `render`: (P, 3, height, width) uint8.

    Each photo gives `per_photo` patches at random positions, resized (area) from a window `zoom` times the
    patch size, so that the bank holds varied scales of every photo.
    """

    def __init__(self, photos: list, height: int, width: int, device, per_photo: int = 1, seed: int = 0,
                 zoom: tuple[float, float] = (1.0, 1.3)):
        """photos: (H, W, 3) uint8 RGB numpy arrays."""
        import cv2

        gen = torch.Generator().manual_seed(seed)
        patches = []
        for img in photos:
            ih, iw = img.shape[:2]
            for _ in range(per_photo):
                z = float(_uniform(gen, 1, *zoom))
                ch, cw = min(ih, round(height * z)), min(iw, round(width * z))
                f = min(ch / height, cw / width)       # keep the aspect: crop, then resize
                ch, cw = round(height * f), round(width * f)
                y0 = int(torch.randint(ih - ch + 1, (), generator=gen))
                x0 = int(torch.randint(iw - cw + 1, (), generator=gen))
                crop = img[y0:y0 + ch, x0:x0 + cw]
                interp = cv2.INTER_AREA if f > 1 else cv2.INTER_CUBIC
                patches.append(torch.from_numpy(cv2.resize(crop, (width, height), interpolation=interp)))
        self.patches = torch.stack(patches).permute(0, 3, 1, 2).contiguous().to(device)

    def __len__(self) -> int:
        return self.patches.shape[0]


def codec_proxy(img: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """A cheap, batched stand-in for lossy video coding where no encoder runs (online synthesis on a GPU):
    BT.709 YCbCr, 4:2:0 chroma, 8x8 DCT with frequency-weighted uniform quantisation.

    img: (N, 3, H, W) sRGB [0, 1], H and W multiples of 16. step: (N,) quantiser step in 8-bit units.
    """
    _, _, h, w = img.shape
    r, g, b = img[:, 0], img[:, 1], img[:, 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    cb = (b - y) / 1.8556
    cr = (r - y) / 1.5748
    c = F.avg_pool2d(torch.stack([cb, cr], 1), 2)
    k = torch.arange(8, dtype=torch.float32, device=img.device)
    m = torch.cos(math.pi * (2 * k[None] + 1) * k[:, None] / 16) * math.sqrt(2 / 8)
    m[0] /= math.sqrt(2)
    # Coarser steps for higher frequencies, as codecs' quantisation matrices do.
    weight = 1 + (k[:, None] + k[None]) / 4

    def quant(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        nn_, ch, hh, ww = x.shape
        blocks = x.reshape(nn_, ch, hh // 8, 8, ww // 8, 8).permute(0, 1, 2, 4, 3, 5)
        qq = (q / 255).reshape(-1, 1, 1, 1, 1, 1) * weight
        coef = torch.round((m @ blocks @ m.T) / qq) * qq
        return (m.T @ coef @ m).permute(0, 1, 2, 4, 3, 5).reshape(nn_, ch, hh, ww)

    y = quant(y[:, None], step)[:, 0]
    c = F.interpolate(quant(c, step * 1.5), scale_factor=2, mode="bilinear", align_corners=False)
    cb, cr = c[:, 0], c[:, 1]
    r = y + 1.5748 * cr
    b = y + 1.8556 * cb
    g = (y - 0.2126 * r - 0.0722 * b) / 0.7152
    return quantise(torch.stack([r, g, b], 1))
