"""Training loop for DeblurNet on synthetic motion-blurred clips.

Clips come either from an on-device bank filled by online synthesis (fast on a GPU) or from clips
pre-rendered to disk by tools/synthesize.py (for CPU training, so the cores train rather than render).
Every batch is (blurred, sharp) uint8 tensors of shape (B, T, 3, S, S).
"""
from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..model.net import PRESETS, DeblurNet, count_parameters
from .checkpoint import load_checkpoint, save_checkpoint
from .data import list_photos, read_rgb, split_photos
from .synthesis import ClipRenderer, SynthConfig, add_noise, codec_proxy

log = logging.getLogger("vdeblur.train")


@dataclass(frozen=True)
class TrainConfig:
    preset: str
    out: Path
    photos: Path | None = None          # online synthesis from this photo folder
    data: Path | None = None            # or pre-rendered clips from tools/synthesize.py
    init: str | None = None             # start from these weights (preset name or .safetensors), fresh optimizer
    iters: int = 20000
    time_budget_s: float | None = None  # schedule by wall time instead when set (whichever ends first)
    batch: int = 16
    crop: int = 256
    seq: int = 8
    lr: float = 2e-3
    warmup: int = 300
    weight_decay: float = 1e-4
    grad_clip: float = 0.5
    fft_weight: float = 0.05
    blur_start: float = 24.0            # curriculum: max blur (px) ramps from this to full
    curriculum: float = 0.3             # fraction of training spent ramping
    max_blur: float = 60.0
    bank: int = 384
    refresh: int = 4
    val_every: int = 500
    val_clips: int = 8
    val_frames: int = 12
    val_size: tuple[int, int] = (256, 448)
    ckpt_every_s: float = 180.0
    stop_after_s: float | None = None   # stop this process (checkpointed) after this long
    device: str = "auto"
    seed: int = 0
    amp: bool = True
    command: str = ""


def charbonnier(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((x - y) ** 2 + eps * eps).mean()


def fft_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    fx = torch.fft.rfft2(x.float(), norm="ortho")
    fy = torch.fft.rfft2(y.float(), norm="ortho")
    return (fx - fy).abs().mean()


def _load_photos(paths: list[Path], device: torch.device, max_side: int = 1280) -> list[torch.Tensor]:
    import cv2

    out = []
    for p in paths:
        img = read_rgb(p)
        h, w = img.shape[:2]
        if max(h, w) > max_side:
            f = max_side / max(h, w)
            img = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        out.append(torch.from_numpy(img).to(device).permute(2, 0, 1).float().div_(255))
    return out


def render_clip(cfg: SynthConfig, gen: torch.Generator, photos: list[torch.Tensor], codec_step: float,
                device_gen: torch.Generator | None = None):
    """One synthetic clip through the codec proxy: (blurred, sharp) uint8 (T, 3, H, W)."""
    photo = photos[int(torch.randint(len(photos), (), generator=gen))]
    r = ClipRenderer(cfg, gen, photo, photos)
    blurred, sharp = r.clip()
    blurred = add_noise(blurred, gen, cfg, device_gen)
    blurred = codec_proxy(blurred, torch.full((blurred.shape[0],), codec_step, device=blurred.device))
    if r.static:
        sharp = blurred  # sharp video: the network must give back what it got
    to8 = lambda x: (x * 255).round_().clamp_(0, 255).to(torch.uint8)
    return to8(blurred), to8(sharp)


class OnlineBank:
    """A bank of clips on the device, refreshed a few clips per batch by online synthesis."""

    def __init__(self, photos: list[torch.Tensor], tc: TrainConfig, device: torch.device):
        self.photos = photos
        self.tc = tc
        self.gen = torch.Generator().manual_seed(tc.seed)
        self.dgen = torch.Generator(device=device).manual_seed(tc.seed + 1)
        self.device = device
        s = tc.crop
        self.blur = torch.empty((tc.bank, tc.seq, 3, s, s), dtype=torch.uint8, device=device)
        self.sharp = torch.empty_like(self.blur)
        self.next = 0
        self.max_blur = tc.max_blur
        for _ in range(tc.bank):
            self._refresh_one()

    def _refresh_one(self) -> None:
        tc = self.tc
        cfg = SynthConfig(height=tc.crop, width=tc.crop, frames=tc.seq).at_blur(self.max_blur)
        step = 1.0 + 5.0 * torch.rand((), generator=self.gen).item()
        b, s = render_clip(cfg, self.gen, self.photos, step, self.dgen)
        self.blur[self.next] = b
        self.sharp[self.next] = s
        self.next = (self.next + 1) % tc.bank

    def sample(self, batch: int, max_blur: float):
        self.max_blur = max_blur
        for _ in range(self.tc.refresh):
            self._refresh_one()
        idx = torch.randint(self.tc.bank, (batch,), generator=self.gen).to(self.device)
        return augment(self.blur[idx], self.sharp[idx], self.gen)


class ClipFolder:
    """Pre-rendered clips (tools/synthesize.py) held in memory; random crops."""

    def __init__(self, folder: Path, tc: TrainConfig, device: torch.device):
        from .clips import load_clip_folder

        self.clips = load_clip_folder(folder)
        if not self.clips:
            raise FileNotFoundError(f"no clips in {folder}")
        self.tc = tc
        self.gen = torch.Generator().manual_seed(tc.seed)
        self.device = device

    def sample(self, batch: int, max_blur: float):
        tc = self.tc
        bl, sh = [], []
        # The curriculum picks among clips by their recorded blur.
        eligible = [c for c in self.clips if c["max_blur"] <= max_blur + 1e-6] or self.clips
        for _ in range(batch):
            clip = eligible[int(torch.randint(len(eligible), (), generator=self.gen))]
            t, h, w = clip["blurred"].shape[:3]
            t0 = int(torch.randint(t - tc.seq + 1, (), generator=self.gen))
            y0 = int(torch.randint(h - tc.crop + 1, (), generator=self.gen))
            x0 = int(torch.randint(w - tc.crop + 1, (), generator=self.gen))
            sl = np.s_[t0:t0 + tc.seq, y0:y0 + tc.crop, x0:x0 + tc.crop]
            bl.append(torch.from_numpy(np.ascontiguousarray(clip["blurred"][sl])))
            sh.append(torch.from_numpy(np.ascontiguousarray(clip["sharp"][sl])))
        b = torch.stack(bl).permute(0, 1, 4, 2, 3).to(self.device)
        s = torch.stack(sh).permute(0, 1, 4, 2, 3).to(self.device)
        return augment(b, s, self.gen)


def augment(blur: torch.Tensor, sharp: torch.Tensor, gen: torch.Generator):
    """Flips, 90-degree rotations and time reversal, the same for blurred and sharp. (B, T, 3, S, S)."""
    r = torch.rand(4, generator=gen).tolist()
    def f(x):
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


def run_sequence(net: DeblurNet, blur: torch.Tensor, reset_every_frame: bool = False):
    """Run the recurrent step over a clip as the pipeline does (window padded with the first frame).

    blur: (B, T, 3, H, W) float [0, 1] -> outputs (B, T, 3, H, W).
    """
    b, t, _, h, w = blur.shape
    k = net.window
    state = net.init_state(b, h, w, device=blur.device, dtype=blur.dtype)
    outs = []
    for i in range(t):
        idx = [max(0, i - k + 1 + j) for j in range(k)]
        if reset_every_frame:
            state = net.init_state(b, h, w, device=blur.device, dtype=blur.dtype)
        out, *state = net(blur[:, idx], *state)
        outs.append(out)
    return torch.stack(outs, 1)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB over the last three dims; inputs in [0, 1]."""
    mse = ((x.clamp(0, 1) - y) ** 2).mean(dim=(-3, -2, -1)).clamp(min=1e-10)
    return -10 * torch.log10(mse)


def make_val_set(photos: list[torch.Tensor], device, clips: int = 8, frames: int = 12,
                 size: tuple[int, int] = (256, 448), seed: int = 1234):
    """Fixed synthetic validation clips (codec proxy): (blurred, sharp) uint8 (clips, frames, 3, H, W)."""
    gen = torch.Generator().manual_seed(seed)
    dgen = torch.Generator(device=device).manual_seed(seed)
    cfg = SynthConfig(height=size[0], width=size[1], frames=frames, static_prob=0.0, halt_prob=0.0)
    bl, sh = [], []
    for _ in range(clips):
        b, s = render_clip(cfg, gen, photos, 3.0, dgen)
        bl.append(b)
        sh.append(s)
    return torch.stack(bl), torch.stack(sh)


@torch.no_grad()
def validate(net: DeblurNet, val, amp_dtype) -> dict:
    net.eval()
    vb, vs = val
    gains, outs = [], []
    for i in range(vb.shape[0]):
        b = vb[i:i + 1].float() / 255
        s = vs[i:i + 1].float() / 255
        with torch.autocast(b.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            o = run_sequence(net, b)
        o = o.float().clamp(0, 1)
        pin = psnr(b[0], s[0]).mean().item()
        pout = psnr(o[0], s[0]).mean().item()
        gains.append(pout - pin)
        outs.append(pout)
    net.train()
    return {"val_psnr": float(np.mean(outs)), "val_gain": float(np.mean(gains))}


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train(tc: TrainConfig) -> dict:
    out = Path(tc.out)
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.addHandler(logging.StreamHandler(sys.stdout))
    log.setLevel(logging.INFO)

    device = _device(tc.device)
    torch.manual_seed(tc.seed)
    if device.type == "cpu":
        torch.set_num_threads(max(1, torch.get_num_threads()))
    net = DeblurNet(PRESETS[tc.preset]).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=tc.lr, weight_decay=tc.weight_decay, betas=(0.9, 0.99))
    amp_dtype = torch.bfloat16 if (tc.amp and device.type == "cuda") else None

    start_it, elapsed, best = 0, 0.0, -1e9
    if tc.init and not (out / "last" / "state.json").exists():
        from ..model.loading import load_model

        init_net, _ = load_model(tc.init)
        if init_net.config != net.config:
            raise ValueError(f"--init {tc.init} is a {init_net.config}, not the {tc.preset} preset")
        net.load_state_dict(init_net.state_dict())
        log.info(f"initialised from {tc.init}")
    if (out / "last" / "state.json").exists():
        meta = load_checkpoint(out / "last", net, opt, device)
        start_it, elapsed, best = meta["iteration"], meta["elapsed_s"], meta.get("best_val_gain", -1e9)
        log.info(f"resumed from {out / 'last'} at iteration {start_it} ({elapsed:.0f} s trained)")

    photos_train = photos_val = None
    if tc.photos is not None:
        train_p, val_p = split_photos(list_photos(tc.photos))
        photos_train = _load_photos(train_p, device)
        photos_val = _load_photos(val_p, device)
        log.info(f"photos: {len(train_p)} train, {len(val_p)} validation (split by photo)")
        source = OnlineBank(photos_train, TrainConfig(**{**asdict(tc), "seed": tc.seed + start_it}), device)
        val = make_val_set(photos_val or photos_train, device, tc.val_clips, tc.val_frames, tc.val_size)
    elif tc.data is not None:
        source = ClipFolder(tc.data, tc, device)
        val = source.validation_set() if hasattr(source, "validation_set") else None
    else:
        raise ValueError("give photos (online synthesis) or data (pre-rendered clips)")
    log.info(f"preset {tc.preset}: {count_parameters(net)} parameters on {device}; config {json.dumps(asdict(tc), default=str)}")
    if val is not None and start_it == 0:
        v = validate(net, val, amp_dtype)
        log.info(f"it 0 val_psnr {v['val_psnr']:.3f} val_gain {v['val_gain']:+.3f}")

    def progress(it: int, el: float) -> float:
        p = it / tc.iters
        if tc.time_budget_s:
            p = max(p, el / tc.time_budget_s)
        return min(p, 1.0)

    t_proc = time.time()
    t_last = time.time()
    t_ckpt = time.time()
    it = start_it
    losses = []
    net.train()
    while True:
        el = elapsed + (time.time() - t_last)
        p = progress(it, el)
        if p >= 1.0:
            break
        if tc.stop_after_s and time.time() - t_proc > tc.stop_after_s:
            break
        lr = tc.lr * min(1.0, (it + 1) / tc.warmup) * 0.5 * (1 + math.cos(math.pi * p))
        for g in opt.param_groups:
            g["lr"] = lr
        max_blur = tc.blur_start + (tc.max_blur - tc.blur_start) * min(1.0, p / max(tc.curriculum, 1e-6))
        blur_u8, sharp_u8 = source.sample(tc.batch, max_blur)
        blur = blur_u8.float().div_(255)
        sharp = sharp_u8.float().div_(255)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            outs = run_sequence(net, blur.contiguous(memory_format=torch.contiguous_format))
        outs = outs.float()
        loss = charbonnier(outs, sharp) + tc.fft_weight * fft_l1(outs, sharp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), tc.grad_clip)
        opt.step()
        losses.append(loss.item())
        it += 1
        if it % 50 == 0:
            now = time.time()
            el = elapsed + (now - t_last)
            log.info(f"it {it} loss {np.mean(losses):.5f} lr {lr:.2e} blur {max_blur:.0f} progress {p:.3f} "
                     f"elapsed {el:.0f}s")
            losses = []
        if val is not None and it % tc.val_every == 0:
            v = validate(net, val, amp_dtype)
            log.info(f"it {it} val_psnr {v['val_psnr']:.3f} val_gain {v['val_gain']:+.3f}")
            if v["val_gain"] > best:
                best = v["val_gain"]
                elapsed += time.time() - t_last
                t_last = time.time()
                save_checkpoint(out / "best", net, None, {"iteration": it, "elapsed_s": elapsed, **v,
                                                         "preset": tc.preset, "config": PRESETS[tc.preset].to_dict()})
        if time.time() - t_ckpt > tc.ckpt_every_s:
            elapsed += time.time() - t_last
            t_last = time.time()
            save_checkpoint(out / "last", net, opt, {"iteration": it, "elapsed_s": elapsed, "best_val_gain": best,
                                                     "preset": tc.preset, "command": tc.command})
            t_ckpt = time.time()
    elapsed += time.time() - t_last
    result = {"iteration": it, "elapsed_s": elapsed, "best_val_gain": best, "preset": tc.preset,
              "command": tc.command}
    if val is not None:
        v = validate(net, val, amp_dtype)
        log.info(f"it {it} val_psnr {v['val_psnr']:.3f} val_gain {v['val_gain']:+.3f} (final)")
        result.update(v)
        if v["val_gain"] > best:
            best = v["val_gain"]
            save_checkpoint(out / "best", net, None, {"iteration": it, "elapsed_s": elapsed, **v,
                                                     "preset": tc.preset, "config": PRESETS[tc.preset].to_dict()})
        result["best_val_gain"] = best
    save_checkpoint(out / "last", net, opt, result)
    log.info(f"stopped at iteration {it}, {elapsed:.0f} s trained, best val gain {best:+.3f} dB")
    return result
