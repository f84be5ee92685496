#!/usr/bin/env python3
"""Train the motion-blur length estimator (vdeblur/model/blurhead.py) on synthetic clips whose true blur is
known, validate it on the validation clip folders, and ship it with its card.

  python tools/train_blur_head.py --photos ../shared/datasets/photos --val clips/val/heavy clips/val/mild \
      clips/val/sharp --seconds 300 -o vdeblur/model/weights/blurhead.safetensors

Training clips come from the training side of the photo split (tools/synthesize.py's renderer with the
`train` blur profile and the codec proxy) at the analysis size; validation clips are the real H.264 ones
from tools/synthesize.py, read from disk and scaled to the analysis width as at run time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.explain import BlurEstimator, load_head, spearman  # noqa: E402
from vdeblur.model.blurhead import ANALYSIS_WIDTH, UNIT_PX, BlurHead  # noqa: E402
from vdeblur.model.loading import save_weights_file_plain  # noqa: E402
from vdeblur.training.clips import load_clip_folder  # noqa: E402
from vdeblur.training.data import list_photos, read_rgb, split_photos  # noqa: E402
from vdeblur.training.sources import render_coded  # noqa: E402
from vdeblur.training.synthesis import PROFILES, PhotoBank, SynthSpec, codec_proxy, to_uint8  # noqa: E402


def luma(u8: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) uint8 -> (..., 1, H, W) float [0, 1] (BT.601 weights, as the estimator uses)."""
    x = u8.float() / 255
    return (0.299 * x[..., :1, :, :] + 0.587 * x[..., 1:2, :, :] + 0.114 * x[..., 2:, :, :])


def make_data(photos: Path, batches: int, clips: int, frames: int, h: int, w: int, seed: int):
    train, _ = split_photos(list_photos(photos))
    bank = PhotoBank([read_rgb(p) for p in train], int(h * 1.15) // 16 * 16, int(w * 1.15) // 16 * 16, "cpu",
                     per_photo=1, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    prev, cur, target = [], [], []
    for b in range(batches):
        # Half the batches at the training profile, half heavier: the estimator must see long blur too.
        profile = PROFILES["train" if b % 2 == 0 else "heavy"]
        spec = SynthSpec(height=h, width=w, frames=frames, profile=profile)
        r: dict = {}
        coded, sharp = render_coded(spec, bank.patches, gen, clips, rendered=r)
        y = luma(coded)                                             # (n, T, 1, h, w)
        prev.append(y[:, :-1].flatten(0, 1))
        cur.append(y[:, 1:].flatten(0, 1))
        target.append(torch.log1p(r["blur_px"][:, 1:].flatten() / UNIT_PX))
        # The same scenes at the instant of mid-exposure (a very short shutter): the same motion between
        # frames, no blur. Without them the estimate never learns where zero is (still clips read ~3 px).
        # Through the codec proxy as the blurred frames were: compression must not be what tells them apart.
        t = sharp.shape[1]
        steps = r["motion"].codec_step.repeat_interleave(t)
        sharp = to_uint8(codec_proxy(sharp.flatten(0, 1).float() / 255, steps).unflatten(0, (clips, t)))
        ys = luma(sharp)
        keep = slice(0, max(1, clips // 4))
        prev.append(ys[keep, :-1].flatten(0, 1))
        cur.append(ys[keep, 1:].flatten(0, 1))
        target.append(torch.zeros(ys[keep, 1:].flatten(0, 1).shape[0]))
        print(f"rendered batch {b + 1}/{batches}", flush=True)
    return torch.cat(prev), torch.cat(cur), torch.cat(target)


def clip_pairs(folders: list[Path], h: int, w: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(prev, cur, target) from pre-rendered clips (tools/families.py --split train, tools/synthesize.py)
    whose meta.json gives the true blur per frame: the frames as the estimator sees them (its analysis
    width, then a random crop to h rows), the target in its units (log1p(px at analysis width / UNIT_PX))."""
    rng = np.random.default_rng(seed)
    prev, cur, target = [], [], []
    for folder in folders:
        for clip in load_clip_folder(folder):
            truth = clip.get("blur_px")
            if not truth:
                continue
            scale = w / clip["blurred"].shape[2]
            y = torch.cat([BlurEstimator._luma(f) for f in clip["blurred"]])       # (T, 1, ah, w)
            if y.shape[-2] < h:
                continue
            top = int(rng.integers(0, y.shape[-2] - h + 1))
            y = y[..., top:top + h, :]
            n = min(len(truth), y.shape[0])
            prev.append(y[:n - 1])
            cur.append(y[1:n])
            target.append(torch.log1p(torch.tensor(truth[1:n], dtype=torch.float32) * scale / UNIT_PX))
    return torch.cat(prev), torch.cat(cur), torch.cat(target)


def validate_families(head: BlurHead, root: Path) -> dict:
    """Per validation family (tools/families.py render): Spearman of estimated against true per-clip blur,
    and the frame MAE in px."""
    from vdeblur.training.clips import clip_folders, read_video

    est = BlurEstimator(head)
    out = {}
    for family, folders in clip_folders(root).items():
        true_clip, est_clip, errors = [], [], []
        for folder in folders:
            truth = np.asarray(json.loads((folder / "meta.json").read_text())["blur_px"], np.float64)
            e = np.asarray(est.sequence(read_video(folder / "blurred.mp4")), np.float64)
            n = min(len(truth), len(e))
            true_clip.append(float(truth[:n].mean()))
            est_clip.append(float(e[:n].mean()))
            errors += list(np.abs(truth[1:n] - e[1:n]))
        out[family] = {"clip_spearman": round(float(spearman(true_clip, est_clip)), 3),
                       "frame_mae_px": round(float(np.mean(errors)), 2), "clips": len(folders)}
    return out


def validate(head: BlurHead, folders: list[Path]) -> dict:
    est = BlurEstimator(head)
    per_clip, frames_true, frames_est, sharp = [], [], [], []
    for folder in folders:
        for clip in load_clip_folder(folder):
            truth = np.asarray(clip["blur_px"], np.float64)
            e = np.asarray(est.sequence(clip["blurred"]), np.float64)
            n = min(len(truth), len(e))
            frames_true += list(truth[1:n])
            frames_est += list(e[1:n])          # frame 0 has no predecessor: the estimator repeats frame 1
            per_clip.append({"set": folder.name, "clip": clip["name"], "true_px": float(truth[:n].mean()),
                             "estimated_px": float(e[:n].mean())})
            if clip.get("static"):
                sharp.append(float(e[:n].mean()))
    t, e = np.array(frames_true), np.array(frames_est)
    return {"clips": per_clip,
            "clip_spearman": spearman([c["true_px"] for c in per_clip], [c["estimated_px"] for c in per_clip]),
            "frame_spearman": spearman(t, e), "frame_mae_px": float(np.mean(np.abs(t - e))),
            "frame_median_abs_error_px": float(np.median(np.abs(t - e))), "mean_true_px": float(t.mean()),
            "sharp_clips_estimated_px": sharp}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--val", type=Path, nargs="+", default=[])
    ap.add_argument("--data", type=Path, nargs="+", default=[],
                    help="also train on these clip folders (their meta.json gives the true blur per frame)")
    ap.add_argument("--families", type=Path, help="validation families (tools/families.py render): per-family "
                    "Spearman and frame MAE")
    ap.add_argument("--init", type=Path, help="start from these estimator weights")
    ap.add_argument("--batches", type=int, default=16, help="rendered batches of --clips clips")
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, required=True)
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    h, w = 144, ANALYSIS_WIDTH
    t0 = time.time()
    prev, cur, target = make_data(a.photos, a.batches, a.clips, a.frames, h, w, a.seed)
    if a.data:
        more = clip_pairs(a.data, h, w, a.seed)
        print(f"{len(more[2])} frames from {', '.join(map(str, a.data))}", flush=True)
        prev, cur, target = (torch.cat([x, y]) for x, y in zip((prev, cur, target), more))
    print(f"{len(target)} training frames in {time.time() - t0:.0f} s; true blur mean "
          f"{(torch.expm1(target) * UNIT_PX).mean():.1f} px at {w} px wide", flush=True)
    head = load_head(a.init).train() if a.init else BlurHead()
    opt = torch.optim.AdamW(head.parameters(), lr=a.lr, weight_decay=1e-4)
    t0, step = time.time(), 0
    while time.time() - t0 < a.seconds:
        idx = torch.randint(len(target), (a.batch,))
        flip = torch.rand(()) < 0.5                # mirrored frames blur the same
        p, c = prev[idx], cur[idx]
        if flip:
            p, c = p.flip(-1), c.flip(-1)
        pred = head(p, c).mean((1, 2, 3))
        loss = torch.nn.functional.smooth_l1_loss(pred, target[idx], beta=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.4f}", flush=True)
    head.eval()
    report = {"steps": step, "seconds": round(time.time() - t0, 1), "training_frames": len(target),
              "command": " ".join(["python", "tools/train_blur_head.py", *(argv or sys.argv[1:])])}
    if a.val:
        report["validation"] = v = validate(head, a.val)
        print(f"validation: clip Spearman {v['clip_spearman']:.3f}, frame Spearman {v['frame_spearman']:.3f}, "
              f"frame MAE {v['frame_mae_px']:.2f} px (true mean {v['mean_true_px']:.2f}), "
              f"sharp clips {[round(x, 2) for x in v['sharp_clips_estimated_px']]} px")
    if a.families:
        report["families"] = f = validate_families(head, a.families)
        for family, r in f.items():
            print(f"{family:11s} clip Spearman {r['clip_spearman']:.2f}, frame MAE {r['frame_mae_px']:.1f} px")
    save_weights_file_plain(head, a.output, {"vdeblur_blurhead": json.dumps(report)})
    a.output.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
