"""In-training validation: fixed synthetic clips per blur profile (heavy, mild, sharp), the network run
recurrently as the pipeline runs it, and the figures that decide what ships."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..model.net import DeblurNet
from .synthesis import PhotoBank, SynthSpec
from .sources import render_coded

PROFILES = ("heavy", "mild", "sharp")


def run_sequence(net: DeblurNet, blur: torch.Tensor, reset_every_frame: bool = False) -> torch.Tensor:
    """Run the recurrent step over clips as the pipeline does (the window is padded with the first frame).

    blur: (B, T, 3, H, W) float [0, 1] -> outputs (B, T, 3, H, W) in blur's dtype, not clamped.
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
    """Per-image PSNR in dB over the last three dims; inputs in [0, 1] (x is clamped)."""
    mse = ((x.clamp(0, 1) - y) ** 2).mean(dim=(-3, -2, -1)).clamp(min=1e-10)
    return -10 * torch.log10(mse)


def make_val_sets(bank: PhotoBank, spec: SynthSpec, clips: int, seed: int = 1234) -> dict:
    """{profile: (blurred, sharp) uint8 (clips, T, 3, H, W)}, rendered once with fixed seeds."""
    sets = {}
    for i, name in enumerate(PROFILES):
        gen = torch.Generator(device=bank.patches.device).manual_seed(seed + i)
        sets[name] = render_coded(replace(spec.with_profile(name), subframes=0), bank.patches, gen, clips)
    return sets


@torch.no_grad()
def validate(net: DeblurNet, sets: dict, amp_dtype: torch.dtype | None) -> dict:
    """Per set: mean output PSNR, mean gain and the worst clip's gain (dB); for `sharp` (target = input)
    the PSNR is output vs input. Also `score`, the figure checkpoints are ranked by: the mean gain over the
    blurred sets, less a penalty for any clip made worse than its input and for sharp clips below 45 dB."""
    was_training = net.training
    net.eval()
    out: dict = {}
    for name, (vb, vs) in sets.items():
        gains, psnrs = [], []
        for i in range(vb.shape[0]):
            b = vb[i:i + 1].float() / 255
            s = vs[i:i + 1].float() / 255
            with torch.autocast(b.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                o = run_sequence(net, b)
            p_out = psnr(o.float()[0], s[0]).mean().item()
            p_in = psnr(b[0], s[0]).clamp(max=100).mean().item()
            psnrs.append(p_out)
            gains.append(p_out - p_in)
        out[name] = {"psnr": float(np.mean(psnrs)), "gain": float(np.mean(gains)), "worst_gain": float(min(gains))}
    net.train(was_training)
    blurred = [r for k, r in out.items() if k != "sharp"]
    score = float(np.mean([r["gain"] for r in blurred])) if blurred else 0.0
    worse = sum(max(0.0, -r["worst_gain"] - 0.05) for r in blurred)
    if "sharp" in out:
        worse += max(0.0, 45.0 - out["sharp"]["psnr"]) / 10
    out["score"] = score - worse
    return out


def load_family_sets(root, device: torch.device | str = "cpu") -> dict:
    """{family: (blurred, sharp) uint8 (clips, T, 3, H, W)} from a folder that tools/families.py rendered
    (ROOT/FAMILY/.../clipNN). Clips of one family share their size."""
    from .clips import clip_folders, read_video

    sets = {}
    for family, folders in clip_folders(root).items():
        blurred = torch.stack([torch.from_numpy(read_video(f / "blurred.mp4")) for f in folders])
        sharp = torch.stack([torch.from_numpy(read_video(f / "sharp.mkv")) for f in folders])
        sets[family] = (blurred.permute(0, 1, 4, 2, 3).to(device), sharp.permute(0, 1, 4, 2, 3).to(device))
    if not sets:
        raise ValueError(f"no validation families in {root} (render them with tools/families.py render)")
    return sets


def family_score(candidate: dict, shipped: dict, floor_db: float = 0.05) -> float:
    """How a checkpoint stands against the shipped weights by the shipping rule's measure, in dB: its
    smallest lead in any family's mean gain, less how far any clip falls below its input (beyond floor_db).
    Positive: no family drops and no clip is harmed (with the pipeline's decode, not its re-encode)."""
    lead = min(candidate[f]["gain"] - shipped[f]["gain"] for f in shipped if f != "score")
    harm = sum(max(0.0, -candidate[f]["worst_gain"] - floor_db) for f in shipped if f != "score")
    return float(lead - harm)
