#!/usr/bin/env python3
"""The yardstick of the quality issue: validation families that differ in how the blur is made and what is
blurred (vdeblur/evaluation/families.py), measured through the real pipeline (H.264 in, `vdeblur run`'s
decode -> network -> encode, decoded again), and the shipping rule.

  python tools/families.py render clips/families --photos PHOTOS       # the clips (fixed seeds)
  python tools/families.py eval clips/families --model small --json benchmarks/eval/families_small.json
  python tools/families.py rule CANDIDATE.json SHIPPED.json           # exit 0: it may ship

The rule: a candidate ships only if no family's mean gain drops below the shipped weights' and no clip of
any family falls below its input - 0.05 dB. Gains are PSNR (dB) of the output over the blurred input,
against the sharp target, each the mean over the clip's frames.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.evaluation import families as fam  # noqa: E402

WORSE_DB = 0.05
ROOT = Path(__file__).resolve().parents[1]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def render(a) -> None:
    from vdeblur.training.clips import save_clip
    from vdeblur.training.data import list_photos, read_rgb, split_photos

    train, val = split_photos(list_photos(a.photos))
    training = a.split == "train"
    # Training clips come from the training photos only, and never from the evaluation images.
    photos = {p.stem: read_rgb(p) for p in (train if training else val)}
    evals = {} if training else fam.eval_images()
    rng = np.random.default_rng(a.seed)
    h, w, n = a.size[0], a.size[1], a.frames
    names = sorted(photos)
    pick = lambda pool: pool[int(rng.integers(len(pool)))]  # noqa: E731
    crf = lambda: int(rng.integers(16, 24))  # noqa: E731
    made = []

    def save(family: str, i: int, clip: fam.Clip, source: str) -> None:
        folder = a.out / (f"{family}_{a.seed}_{i:03d}" if training else f"{family}/clip{i:02d}")
        meta = {"family": family, "source": source, "blur_px": [round(x, 2) for x in clip.blur_px],
                "max_blur": round(max(clip.blur_px), 2), **clip.meta}
        save_clip(folder, clip.blurred, clip.sharp, crf(), meta)
        made.append(folder)
        print(f"{family} {i}: {source}, blur {np.mean(clip.blur_px):.1f} px", flush=True)

    # Training clips: every third in low light (a condition to learn, as noise is; the validation's unseen
    # family keeps its own content).
    dim = lambda i: float(rng.uniform(0.1, 0.4)) if training and i % 3 == 2 else 1.0  # noqa: E731
    for i in range(a.clips):        # averaging: held-out photos, 1-2 parallax layers from other held-out photos
        bg = pick(names)
        layers = [photos[pick(names)] for _ in range(int(rng.integers(1, 3)))]
        save("averaging", i, fam.averaging_clip(rng, photos[bg], layers, frames=n, h=h, w=w, dark=dim(i)), bg)
    for i in range(a.clips):
        src = pick(names)
        save("kernels", i, fam.kernels_clip(rng, photos[src], frames=n, h=h, w=w, varying=i % 2 == 1), src)
    for i in range(a.clips):
        src = pick(names + sorted(evals))
        save("near_sharp", i, fam.near_sharp_clip(rng, photos.get(src, evals.get(src)), frames=n, h=h, w=w,
                                                  dark=dim(i)), src)
    for i in range(a.textures if training else 0):
        # Procedural texture (vdeblur.training.textures): mostly left still, where the network must leave
        # it alone, a third blurred by trajectory kernels, where it must still deblur it.
        from vdeblur.training.textures import texture

        img = texture(rng, int(h * 1.5), int(w * 1.5))
        clip = (fam.kernels_clip(rng, img, frames=n, h=h, w=w, varying=i % 2 == 1) if i % 3 == 0
                else fam.near_sharp_clip(rng, img, frames=n, h=h, w=w, dark=dim(i)))
        save("texture", i, clip, "procedural")
    if training:
        print(f"{len(made)} training clips in {a.out}")
        return
    unseen = sorted(evals)
    for i in range(max(a.clips, 6)):
        src = unseen[(i * 5 + a.seed) % len(unseen)]
        dark = 0.15 if i % 3 == 2 else 1.0                # every third clip in low light
        clip = fam.averaging_clip(rng, evals[src], [], frames=n, h=h, w=w, blur_px=(2.0, 18.0),
                                  noise=0.004 if dark == 1 else 0.002, dark=dark)
        save("unseen", i, clip, src + (" (low light)" if dark < 1 else ""))
    _simulator(a, h, w, n, made)
    print(f"{len(made)} clips in {a.out}")


def _simulator(a, h: int, w: int, n: int, made: list) -> None:
    """The training simulator on held-out photos: heavy and mild halves."""
    import subprocess

    for profile, seed in (("heavy", a.seed + 101), ("mild", a.seed + 102)):
        out = a.out / "simulator" / profile
        subprocess.run([sys.executable, str(ROOT / "tools" / "synthesize.py"), "photos", str(a.photos),
                        "--split", "val", "--profile", profile, "--clips", str(max(a.clips // 2, 2)),
                        "--frames", str(n), "--width", str(w), "--height", str(h), "--seed", str(seed),
                        "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
        made += sorted(out.iterdir())


def evaluate(a) -> dict:
    import av
    from skimage.metrics import structural_similarity

    from vdeblur import deblur_file
    from vdeblur.colour import frame_to_rgb
    from vdeblur.explain import BlurEstimator, spearman
    from vdeblur.training.clips import clip_folders, read_video

    def decode(p: Path) -> np.ndarray:
        with av.open(str(p)) as c:
            codec = c.streams.video[0].codec_context.name
            return np.stack([frame_to_rgb(f, codec) for f in c.decode(video=0)])

    result = {"model": a.model, "backend": a.backend, "precision": a.precision, "crf": a.crf,
              "quality": a.quality, "families": {}}
    t0 = time.time()
    estimator = BlurEstimator()
    with tempfile.TemporaryDirectory() as tmp:
        if a.model == "identity":   # the pipeline alone (decode, encode): what the codec costs
            a.model = identity_weights(Path(tmp) / "identity.safetensors")
        for family, folders in clip_folders(a.root).items():
            rows = []
            for folder in folders:
                sharp = read_video(folder / "sharp.mkv")
                blurred = read_video(folder / "blurred.mp4")
                out = Path(tmp) / f"{family}_{folder.name}.mkv"
                kw = {"crf": a.crf} if a.crf is not None else {}
                t_run = time.perf_counter()
                summary = deblur_file(str(folder / "blurred.mp4"), str(out), model=a.model, backend=a.backend,
                                      precision=a.precision, overwrite=True, quality=a.quality, **kw)
                run_s = time.perf_counter() - t_run
                cuts = summary.get("scene_cuts", 0)
                estimated = estimator.sequence(blurred)
                got = decode(out)
                assert len(got) == len(sharp), folder
                p_in = float(np.mean([psnr(b, s) for b, s in zip(blurred, sharp)]))
                p_out = float(np.mean([psnr(o, s) for o, s in zip(got, sharp)]))
                s_in = float(np.mean([structural_similarity(b, s, channel_axis=2) for b, s in zip(blurred, sharp)]))
                s_out = float(np.mean([structural_similarity(o, s, channel_axis=2) for o, s in zip(got, sharp)]))
                meta = json.loads((folder / "meta.json").read_text())
                size = (out.stat().st_size, (folder / "blurred.mp4").stat().st_size)
                rows.append({"bytes_out": size[0], "bytes_in": size[1], "clip": str(folder.relative_to(a.root)), "psnr_in": round(p_in, 3),
                             "psnr_out": round(p_out, 3), "gain": round(p_out - p_in, 3),
                             "ssim_in": round(s_in, 4), "ssim_out": round(s_out, 4),
                             "blur_px": round(float(np.mean(meta.get("blur_px") or [0])), 2),
                             "blur_px_frames": meta.get("blur_px") or [],
                             "blur_estimated": round(float(np.mean(estimated)), 2),
                             "blur_estimated_frames": [round(x, 2) for x in estimated],
                             "scene_cuts": len(cuts) if isinstance(cuts, list) else int(cuts),
                             "run_s": round(run_s, 2)})
                out.unlink()
            gains = [r["gain"] for r in rows]
            truth = [x for r in rows for x in r["blur_px_frames"]]
            est = [x for r in rows for x in r["blur_estimated_frames"]]
            result["families"][family] = {"mean_gain": round(float(np.mean(gains)), 3),
                                          "worst_gain": round(float(np.min(gains)), 3),
                                          "ssim_up": sum(r["ssim_out"] > r["ssim_in"] for r in rows),
                                          "blur_spearman": round(spearman([r["blur_px"] for r in rows],
                                                                          [r["blur_estimated"] for r in rows]), 3),
                                          "blur_frame_mae_px": round(float(np.mean(np.abs(np.subtract(est, truth))))
                                                                     if len(est) == len(truth) and truth else -1, 2),
                                          "scene_cuts": sum(r["scene_cuts"] for r in rows),
                                          "run_s": round(sum(r["run_s"] for r in rows), 1),
                                          "size_ratio": round(sum(r["bytes_out"] for r in rows)
                                                              / sum(r["bytes_in"] for r in rows), 2),
                                          "clips": rows}
            print(f"{family:11s} mean {np.mean(gains):+.3f} dB, worst {np.min(gains):+.3f} over {len(rows)} clips, "
                  f"output {result['families'][family]['size_ratio']:.2f}x the input's bytes; blur estimator "
                  f"Spearman {result['families'][family]['blur_spearman']:.2f}, frame MAE "
                  f"{result['families'][family]['blur_frame_mae_px']:.1f} px; "
                  f"{result['families'][family]['scene_cuts']} scene cut(s)", flush=True)
    result["seconds"] = round(time.time() - t0, 1)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


def identity_weights(path: Path) -> str:
    """`small`'s network with its output head zeroed: output == input exactly, through the whole pipeline."""
    import torch

    from vdeblur.model.loading import save_weights
    from vdeblur.model.net import PRESETS, DeblurNet

    net = DeblurNet(PRESETS["small"])
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.zero_()
    save_weights(net, path, {"preset": "small", "note": "identity: the pipeline's own cost"})
    return str(path)


def rule(candidate: dict, shipped: dict) -> tuple[bool, list[str]]:
    """(ships, one line per family): no family's mean below the shipped one's, no clip below input - 0.05."""
    ok, lines = True, []
    for family, c in sorted(candidate["families"].items()):
        s = shipped["families"].get(family)
        drop = s is not None and c["mean_gain"] < s["mean_gain"]
        harm = c["worst_gain"] < -WORSE_DB
        ok &= not drop and not harm
        lines.append(f"{family:11s} candidate {c['mean_gain']:+.3f} (worst {c['worst_gain']:+.3f})"
                     + (f"  shipped {s['mean_gain']:+.3f} (worst {s['worst_gain']:+.3f})" if s else "  shipped -")
                     + ("  MEAN DROPS" if drop else "") + ("  A CLIP BELOW ITS INPUT" if harm else ""))
    missing = set(shipped["families"]) - set(candidate["families"])
    if missing:
        ok = False
        lines.append(f"families not measured for the candidate: {', '.join(sorted(missing))}")
    return ok, lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="render every family's clips")
    r.add_argument("out", type=Path)
    r.add_argument("--photos", type=Path, required=True, help="the photo corpus (split by name as in training)")
    r.add_argument("--clips", type=int, default=6, help="clips per family")
    r.add_argument("--frames", type=int, default=10)
    r.add_argument("--size", type=int, nargs=2, default=(192, 320), metavar=("H", "W"))
    r.add_argument("--seed", type=int, default=2024)
    r.add_argument("--split", choices=["val", "train"], default="val",
                   help="val: the validation families (held-out photos, evaluation images); train: training clips "
                        "of the averaging, kernels and near_sharp families from the training photos, flat in OUT")
    r.add_argument("--textures", type=int, default=0,
                   help="with --split train: this many clips of procedural texture as well, two in three still")
    e = sub.add_parser("eval", help="measure weights on every family through the pipeline")
    e.add_argument("root", type=Path)
    e.add_argument("--model", default="small", help="a shipped name, a .safetensors path, or identity (the "
                   "pipeline without the network: what decoding and re-encoding cost)")
    e.add_argument("--backend", default="onnxruntime")
    e.add_argument("--precision", default="fp32")
    e.add_argument("--crf", type=int, default=None, help="the output encoder's CRF (default: vdeblur run's)")
    e.add_argument("--quality", choices=["normal", "high"], default="normal", help="vdeblur run --quality")
    e.add_argument("--json")
    k = sub.add_parser("rule", help="the shipping rule: candidate against shipped")
    k.add_argument("candidate", type=Path)
    k.add_argument("shipped", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "render":
        render(a)
    elif a.cmd == "eval":
        evaluate(a)
    else:
        ok, lines = rule(json.loads(a.candidate.read_text()), json.loads(a.shipped.read_text()))
        print("\n".join(lines))
        print("ships" if ok else "does not ship")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
