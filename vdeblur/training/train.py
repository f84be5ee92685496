"""The training loop: resumable, fast on a GPU, usable on a CPU.

One preset per process. The state (weights, EMA, AdamW moments, step, schedule) lives in a state folder
(`training/state/PRESET` in the repository) that any machine resumes; logs, the validation curve and the
best EMA weights go to the run folder. On CUDA: bf16 autocast, channels_last, torch.compile of the
recurrent step, fused AdamW, batches synthesised on the device, and no host synchronisation inside the
loop except every `log_every` steps.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch

from ..model.net import PRESETS, DeblurNet, count_parameters
from .checkpoint import load_aux, load_state, save_aux, save_state, save_weights_file
from .gan import HingeLoss, PatchDiscriminator, TemporalConsistency
from .data import list_photos, read_rgb, split_photos
from .losses import NoHarm, ReconstructionLoss
from .sources import ClipFolder, OnlineBank
from .synthesis import PROFILES, PhotoBank, SynthSpec
from .validate import family_score, load_family_sets, make_val_sets, run_sequence, validate

log = logging.getLogger("vdeblur.train")


@dataclass(frozen=True)
class TrainConfig:
    preset: str
    state: Path                          # resumable training state (read if present, written)
    out: Path                            # run folder: train.log, curve.json, best.safetensors
    photos: Path | None = None           # online synthesis from this photo folder
    data: Path | None = None             # or pre-rendered clips from tools/synthesize.py
    families: Path | None = None         # validation families (tools/families.py render): best.safetensors
                                         # is then the checkpoint that gains most over the shipped preset on
                                         # its worst family (validate.family_score)
    init: str | None = None              # fresh state from these weights (preset name or .safetensors)
    seconds: float | None = None         # stop (checkpointed) after this much wall time
    iters: int | None = None             # or after this many steps in this process
    total_iters: int = 200_000           # the cosine schedule's length, carried across runs
    batch: int = 16
    crop: int = 256
    seq: int = 8
    lr: float = 1e-3
    min_lr: float = 0.05                 # floor of the cosine, as a fraction of lr
    warmup: int = 200                    # steps of linear warm-up at a fresh start or without moments
    weight_decay: float = 1e-4
    grad_clip: float = 0.5
    ema_decay: float = 0.999
    res_scale: bool = True               # learnable residual scales (skip-init); off: the plain blocks
    pixel_loss: str = "charbonnier"      # or "psnr"
    fft_weight: float = 0.05
    gan: bool = False                    # adversarial fine-tuning (training/gan.py): a PatchGAN discriminator
    gan_weight: float = 0.005            # the generator's hinge term, next to reconstruction losses near 0.03
    d_lr: float = 1e-4                   # the discriminator's learning rate (Adam, betas 0.5 / 0.99)
    temporal_weight: float | None = None  # temporal consistency; None: 1.0 with --gan, else off
    no_harm_weight: float = 0.0          # per-clip hinge on dB lost against the input (losses.NoHarm)
    profile: str = "train"               # synthesis blur profile (vdeblur/training/synthesis.py)
    subframes: int = 0                   # sub-frames per exposure in online synthesis; 0: 24 on a GPU (fixed,
                                         # so nothing waits for the device), as the motion needs on a CPU
    bank: int = 256                      # clips held on the device
    refresh: float = 8.0                 # clips re-rendered per step (a fraction: one every few steps)
    bank_photos: int = 2                 # photo patches per photo
    val_every: int = 1000
    val_clips: int = 4                   # per profile (heavy, mild, sharp)
    val_frames: int = 10
    val_size: tuple[int, int] = (256, 448)
    log_every: int = 100
    ckpt_every_s: float = 240.0
    device: str = "auto"
    threads: int = 0                     # CPU threads (0: torch's default)
    amp: str = "auto"                    # bf16 autocast: auto (CUDA, or a CPU with native bf16), on, off
    compile: str = "auto"                # torch.compile the step: auto (CUDA), on, off
    seed: int = 0
    state_budget_mb: float = 25.0
    command: str = ""


def config_field_defaults() -> dict:
    """{name: default} for the CLI (tools/train.py derives its defaults from here)."""
    return {f.name: f.default for f in fields(TrainConfig)}


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _amp_dtype(tc: TrainConfig, device: torch.device) -> torch.dtype | None:
    if tc.amp == "off":
        return None
    if tc.amp == "on" or device.type == "cuda":
        return torch.bfloat16
    return torch.bfloat16 if torch.backends.mkldnn.is_available() and _cpu_has_bf16() else None


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _load_photos(folder: Path, tc: TrainConfig, device: torch.device) -> tuple[PhotoBank, PhotoBank]:
    train_p, val_p = split_photos(list_photos(folder))
    train_imgs = [read_rgb(p) for p in train_p]
    val_imgs = [read_rgb(p) for p in val_p] or train_imgs
    # Patches a little larger than the frames leave room for the shake (reflection covers the rest)
    # without upscaling the packed photos (long side 512), which would soften the targets.
    pad = int(tc.crop * 1.25) // 16 * 16
    bank = PhotoBank(train_imgs, pad, pad, device, per_photo=tc.bank_photos, seed=tc.seed)
    vh, vw = (int(s * 1.15) // 16 * 16 for s in tc.val_size)
    val = PhotoBank(val_imgs, vh, vw, device, per_photo=1, seed=1234)
    log.info(f"photos: {len(train_p)} train, {len(val_p)} validation (split by photo name)")
    return bank, val


class Run:
    """A training process: network, EMA, optimiser, batch source, validation sets, schedule."""

    def __init__(self, tc: TrainConfig):
        self.tc = tc
        self.device = _device(tc.device)
        if self.device.type == "cpu" and tc.threads:
            torch.set_num_threads(tc.threads)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True     # fixed shapes: pick the fastest conv algorithms once
        torch.manual_seed(tc.seed)
        self.amp = _amp_dtype(tc, self.device)
        cfg = replace(PRESETS[tc.preset], res_scale=tc.res_scale)
        net = DeblurNet(cfg)
        self.net = net.to(self.device).to(memory_format=torch.channels_last)
        self.ema = copy.deepcopy(self.net).eval().requires_grad_(False)
        self._params = list(self.net.parameters())
        self._ema_params = list(self.ema.parameters())
        fused = self.device.type == "cuda"
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=tc.lr, weight_decay=tc.weight_decay,
                                     betas=(0.9, 0.99), fused=fused or None)
        self.loss_fn = ReconstructionLoss(tc.pixel_loss, tc.fft_weight)
        self.temporal_weight = tc.temporal_weight if tc.temporal_weight is not None else (1.0 if tc.gan else 0.0)
        self.temporal = TemporalConsistency()
        self.no_harm = NoHarm()
        self.harm_sum = torch.zeros((), device=self.device)   # dB lost, summed between log lines
        self.disc = PatchDiscriminator().to(self.device) if tc.gan else None
        self.adv = HingeLoss()
        self.d_opt = (torch.optim.Adam(self.disc.parameters(), lr=tc.d_lr, betas=(0.5, 0.99))
                      if self.disc is not None else None)
        self.meta = self._restore()
        self.step_fn = self._compiled_step()
        self._step_ran = False

    def _restore(self) -> dict:
        tc = self.tc
        state = Path(tc.state)
        if (state / "state.json").exists():
            meta = load_state(state, self.net, self.ema, self.opt, self.device)
            kept = meta.get("kept", {})
            # Without moments AdamW's first steps are too large: warm up again from here.
            meta["warm_from"] = meta["step"] if not kept.get("exp_avg_sq") else meta.get("warm_from", 0)
            log.info(f"resumed {state} at step {meta['step']} ({meta['trained_s']:.0f} s trained; kept {kept})")
            if self.disc is not None and load_aux(state, "disc", self.disc, self.d_opt, self.device):
                log.info("resumed the discriminator")
            return meta
        if tc.init:
            from ..model.loading import load_model

            init, _ = load_model(tc.init)
            if init.config != PRESETS[tc.preset]:
                raise ValueError(f"--init {tc.init} is a {init.config}, not the {tc.preset} preset")
            self.net.load_state_dict((init.scaled() if tc.res_scale else init).state_dict())
            self.ema.load_state_dict(self.net.state_dict())
            log.info(f"fresh state from the weights {tc.init}")
        return {"step": 0, "trained_s": 0.0, "warm_from": 0, "best_score": -1e9, "history": [],
                "preset": tc.preset, "init": tc.init, "runs": []}

    def _compiled_step(self):
        tc = self.tc
        want = tc.compile == "on" or (tc.compile == "auto" and self.device.type == "cuda")
        if not want:
            return self.net
        try:
            return torch.compile(self.net, dynamic=False)
        except Exception as e:  # an unsupported platform: eager still trains
            log.warning(f"torch.compile unavailable ({e}); training eagerly")
            return self.net

    def lr_at(self, step: int) -> float:
        tc = self.tc
        p = min(step / tc.total_iters, 1.0)
        cos = tc.min_lr + (1 - tc.min_lr) * 0.5 * (1 + math.cos(math.pi * p))
        warm = min(1.0, (step - self.meta.get("warm_from", 0) + 1) / max(tc.warmup, 1))
        return tc.lr * cos * warm

    def forward_loss(self, blur_u8: torch.Tensor, sharp_u8: torch.Tensor) -> torch.Tensor:
        """The recurrent forward pass over a (B, T, 3, S, S) uint8 batch and its loss (with --gan, the
        generator's adversarial term; the outputs are kept for the discriminator's step)."""
        blur = blur_u8.float().div_(255)
        sharp = sharp_u8.float().div_(255)
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            outs = run_sequence(self.step_fn, blur)
        outs = outs.float()
        loss = self.loss_fn(outs, sharp)
        if self.temporal_weight:
            loss = loss + self.temporal_weight * self.temporal(outs, sharp)
        if self.tc.no_harm_weight:
            harm = self.no_harm(outs, blur, sharp)
            self.harm_sum += harm.detach()
            loss = loss + self.tc.no_harm_weight * harm
        if self.disc is not None:
            self._pair = (sharp.flatten(0, 1), outs.flatten(0, 1))
            loss = loss + self.tc.gan_weight * self.adv.generator(self.disc(self._pair[1]))
        return loss

    def discriminator_step(self) -> None:
        """One hinge step of the discriminator on the last batch's (truth, output) frames."""
        real, fake = self._pair
        self.d_opt.zero_grad(set_to_none=True)     # also drops what the generator's step left on it
        self.adv.discriminator(self.disc(real), self.disc(fake.detach())).backward()
        self.d_opt.step()
        self._pair = None

    def backward(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()

    @torch.no_grad()
    def update(self) -> None:
        """Clip, AdamW step, EMA: all foreach/fused, nothing waits for the device."""
        torch.nn.utils.clip_grad_norm_(self._params, self.tc.grad_clip, foreach=True)
        self.opt.step()
        torch._foreach_lerp_(self._ema_params, self._params, 1 - self.tc.ema_decay)

    def train_step(self, blur_u8: torch.Tensor, sharp_u8: torch.Tensor) -> torch.Tensor:
        if self.step_fn is not self.net and not self._step_ran:
            # torch.compile fails at the first call, not when it wraps: fall back to eager there.
            try:
                loss = self._train_step(blur_u8, sharp_u8)
            except Exception as e:
                log.warning(f"torch.compile failed at the first step ({type(e).__name__}: "
                            f"{str(e).splitlines()[0][:200]}); training eagerly")
                self.step_fn = self.net
                self._pair = None
                loss = self._train_step(blur_u8, sharp_u8)
            self._step_ran = True
            return loss
        return self._train_step(blur_u8, sharp_u8)

    def _train_step(self, blur_u8: torch.Tensor, sharp_u8: torch.Tensor) -> torch.Tensor:
        loss = self.forward_loss(blur_u8, sharp_u8)
        self.backward(loss)
        self.update()
        if self.disc is not None:
            self.discriminator_step()
        return loss.detach()

    def save(self, trained_s: float) -> None:
        tc = self.tc
        meta = {**self.meta, "trained_s": trained_s, "lr": tc.lr, "total_iters": tc.total_iters,
                "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(tc).items()}}
        kept = save_state(Path(tc.state), self.net, self.ema, self.opt, meta, tc.state_budget_mb)
        if self.disc is not None:
            save_aux(Path(tc.state), "disc", self.disc, self.d_opt)
        log.info(f"state saved to {tc.state} at step {self.meta['step']} (kept {kept})")


def _setup_logging(out: Path) -> list[logging.Handler]:
    out.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [logging.FileHandler(out / "train.log"), logging.StreamHandler()]
    for h in handlers:
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(h)
    log.setLevel(logging.INFO)
    return handlers


def _source(tc: TrainConfig, device: torch.device, seed: int):
    """(batch source, validation sets). seed: differs between resumed runs so they see new clips."""
    if tc.photos is not None:
        bank, val_bank = _load_photos(Path(tc.photos), tc, device)
        spec = SynthSpec(height=tc.crop, width=tc.crop, frames=tc.seq, profile=PROFILES[tc.profile],
                         subframes=tc.subframes or (24 if device.type == "cuda" else 0))
        t = time.time()
        source = OnlineBank(bank, spec, tc.bank, tc.refresh, seed, device) if tc.iters != 0 else None
        vspec = SynthSpec(height=tc.val_size[0], width=tc.val_size[1], frames=tc.val_frames)
        val = make_val_sets(val_bank, vspec, tc.val_clips)
        log.info(f"bank of {tc.bank} clips and validation sets rendered in {time.time() - t:.1f} s")
        return source, val
    if tc.data is not None:
        from .clips import load_clip_folder

        clips = load_clip_folder(Path(tc.data))
        # Hold out clips by name so validation never sees a training clip.
        held = [c for c in clips if hash_name(c["name"]) % 8 == 0] or clips[-1:]
        train = [c for c in clips if c not in held] or clips
        source = ClipFolder(Path(tc.data), tc.crop, tc.seq, seed, device, clips=train)
        t = min(c["blurred"].shape[0] for c in held)      # sets rendered with different lengths: the shortest
        val = {"clips": tuple(torch.stack([torch.from_numpy(c[k][:t]) for c in held]).permute(0, 1, 4, 2, 3).to(device)
                              for k in ("blurred", "sharp"))}
        log.info(f"clips: {len(train)} train, {len(held)} validation (held out by name)")
        return source, val
    raise ValueError("give photos (online synthesis) or data (pre-rendered clips)")


def _families(tc: TrainConfig, run: Run, meta: dict) -> tuple[dict, dict] | None:
    """(family sets, the shipped preset's figures on them), or None without tc.families. A state whose
    best checkpoint was ranked another way starts its ranking afresh."""
    if tc.families is None:
        return None
    from ..model.loading import load_model

    sets = load_family_sets(Path(tc.families), run.device)
    shipped_net, _ = load_model(tc.preset)
    shipped = validate(shipped_net.to(run.device), sets, run.amp)
    if meta.get("ranked_by") != "families":
        meta["best_score"], meta["ranked_by"] = -1e9, "families"
    meta["families_shipped"] = {k: v for k, v in shipped.items() if k != "score"}
    log.info("families, shipped %s: %s", tc.preset, json.dumps(meta["families_shipped"]))
    return sets, shipped


def hash_name(name: str) -> int:
    import hashlib

    return int(hashlib.sha1(name.encode()).hexdigest(), 16)


def train(tc: TrainConfig) -> dict:
    """Train until tc.seconds or tc.iters; returns the final meta (step, validation history, ...)."""
    handlers = _setup_logging(Path(tc.out))
    try:
        return _train(tc)
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()


def _stop_on_signals() -> list[int]:
    """A list that receives the signal number when SIGINT or SIGTERM arrives (main thread only)."""
    import signal
    import threading

    received: list[int] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: received.append(signum))
    return received


def _done(tc: TrainConfig, steps: int, t_start: float) -> bool:
    return (tc.iters is not None and steps >= tc.iters) or (
        tc.seconds is not None and time.time() - t_start >= tc.seconds)


def _train(tc: TrainConfig) -> dict:
    t_start = time.time()
    run = Run(tc)
    meta = run.meta
    source, val = _source(tc, run.device, tc.seed + meta["step"])
    log.info(f"preset {tc.preset}: {count_parameters(run.net)} parameters on {run.device}, amp {run.amp}, "
             f"compile {run.step_fn is not run.net}; config {json.dumps(asdict(tc), default=str)}")
    out = Path(tc.out)
    curve = out / "curve.json"

    families = _families(tc, run, meta)

    def validate_now(trained_s: float) -> dict:
        v = validate(run.ema, val, run.amp)
        if families is not None:
            sets, shipped = families
            v["families"] = {k: r for k, r in validate(run.ema, sets, run.amp).items() if k != "score"}
            v["score"] = family_score(v["families"], shipped)
        v = {"step": meta["step"], "trained_s": round(trained_s, 1), **v}
        meta["history"].append(v)
        curve.write_text(json.dumps(meta["history"], indent=1) + "\n")
        log.info("val (EMA) step %d: %s", meta["step"], json.dumps({k: v[k] for k in v if k not in ("step",)}))
        if v["score"] > meta["best_score"]:
            meta["best_score"] = v["score"]
            save_weights_file(run.ema.folded(), out / "best.safetensors")
        return v

    trained0 = meta["trained_s"]
    validate_now(trained0)      # every run starts its curve with its own validation sets
    t0 = time.time()
    t_ckpt = t0
    first = meta["step"]
    loss_sum = torch.zeros((), device=run.device)   # summed on the device: read only when logged
    stop = _stop_on_signals()       # SIGINT/SIGTERM end the run after the step in flight, state saved
    while not _done(tc, meta["step"] - first, t_start) and not stop:
        lr = run.lr_at(meta["step"])
        for g in run.opt.param_groups:
            g["lr"] = lr
        loss_sum += run.train_step(*source.sample(tc.batch))
        meta["step"] += 1
        if meta["step"] % tc.log_every == 0:
            n = min(tc.log_every, meta["step"] - first)
            harm = f" no-harm {(run.harm_sum / n).item():.4f} dB" if tc.no_harm_weight else ""
            log.info(f"step {meta['step']} loss {(loss_sum / n).item():.5f}{harm} lr {lr:.2e} "
                     f"{(meta['step'] - first) / (time.time() - t0):.2f} it/s")
            loss_sum.zero_()
            run.harm_sum.zero_()
        if meta["step"] % tc.val_every == 0:
            validate_now(trained0 + time.time() - t0)
        if time.time() - t_ckpt > tc.ckpt_every_s:
            run.save(trained0 + time.time() - t0)
            t_ckpt = time.time()
    trained = trained0 + time.time() - t0
    meta["runs"].append({"steps": meta["step"] - first, "seconds": round(time.time() - t0, 1),
                         "device": torch.cuda.get_device_name() if run.device.type == "cuda" else "cpu",
                         "command": tc.command})
    if meta["history"][-1]["step"] != meta["step"]:
        validate_now(trained)
    run.save(trained)
    log.info(f"stopped at step {meta['step']} ({meta['step'] - first} this run, {trained:.0f} s trained in all)")
    return meta
