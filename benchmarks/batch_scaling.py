#!/usr/bin/env python3
"""`vdeblur batch` on this machine's local Ray: correctness of chunking against one process, and scaling.

  python benchmarks/batch_scaling.py --json benchmarks/results/batch_scaling_cpu.json

1. Correctness: one 600-frame clip (shots of the synthetic validation clips, 640x360, 25 fps, with audio) cut into
   4 chunks, against `vdeblur run` of the same clip: frame count, every pts, and per-frame PSNR of the
   decoded outputs, with a lossless encoder (only the network's state can differ: the warm-up's effect)
   and with the default encoder (x264 CRF 18 also decides differently near the chunk ends).
2. Scaling: 4 files of 150 frames with 1 and 2 workers (files/min, frames/s), and the cost of chunking:
   the 600-frame clip in one chunk vs 4, one worker. Wall times include starting Ray and the workers.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vdeblur.backends.probe import cpu_model  # noqa: E402
from vdeblur.batch.run import run_batch  # noqa: E402
from vdeblur.colour import frame_to_rgb  # noqa: E402
from vdeblur.config import BatchConfig, EncodeConfig, ModelConfig, Precision, RunConfig  # noqa: E402
from vdeblur.pipeline import run_file  # noqa: E402


def render(out: Path, frames: int, seed: int) -> Path:
    """A clip of `frames` frames (640x360, 25 fps, H.264 CRF 18 with a keyframe every 2 s, as cameras write,
    and a 440 Hz stereo tone) cut together from the synthetic validation clips (clips/long, clips/val/*:
    rendered by tools/synthesize.py from held-out photos), starting at clip `seed`: shots of 24-96 frames
    with real blur and cuts between them."""
    clips = sorted(ROOT.glob("clips/long/*/blurred.mp4")) + sorted(ROOT.glob("clips/val/*/*/blurred.mp4"))
    if not clips:
        raise SystemExit("no clips: make them with benchmarks/eval/make_sets.sh and the clips/long command "
                         "in tools/state_memory.py")
    pics = []
    k = seed
    while len(pics) < frames:
        with av.open(str(clips[k % len(clips)])) as c:
            pics += [frame_to_rgb(f) for f in c.decode(video=0)]
        k += 1
    with av.open(str(out), "w") as o:
        v = o.add_stream("libx264", rate=25, options={"crf": "18", "preset": "veryfast", "g": "50"})
        v.width, v.height, v.pix_fmt = 640, 360, "yuv420p"
        a = o.add_stream("aac", rate=48000)
        for n, rgb in enumerate(pics[:frames]):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts = n
            for q in v.encode(f):
                o.mux(q)
        for q in v.encode(None):
            o.mux(q)
        t = np.arange(1024) / 48000
        for k in range(int(frames / 25 * 48000 / 1024) + 1):
            sig = (0.1 * np.sin(2 * np.pi * 440 * (t + k * 1024 / 48000))).astype(np.float32)
            f = av.AudioFrame.from_ndarray(np.stack([sig, sig]), format="fltp", layout="stereo")
            f.sample_rate, f.pts = 48000, k * 1024
            for q in a.encode(f):
                o.mux(q)
        for q in a.encode(None):
            o.mux(q)
    return out


def decoded(path: Path):
    with av.open(str(path)) as c:
        return [(f.pts, frame_to_rgb(f).astype(np.float32)) for f in c.decode(video=0)]


def psnr(a, b) -> float:
    return 10 * np.log10(255 ** 2 / max(float(((a - b) ** 2).mean()), 1e-10))


def correctness(clip: Path, work: Path, model: ModelConfig, enc: EncodeConfig, label: str) -> dict:
    one = work / f"one_{label}.mp4"
    shutil.rmtree(work / f"batch_{label}", ignore_errors=True)
    run_file(RunConfig(str(clip), str(one), overwrite=True, model=model, encode=enc))
    s = run_batch(BatchConfig((str(clip),), str(work / f"batch_{label}"), overwrite=True, model=model, encode=enc,
                              ray="local", chunk_s=6.0, workers=2))
    a, b = decoded(work / f"batch_{label}" / clip.name), decoded(one)
    ps = [psnr(x[1], y[1]) for x, y in zip(a, b)]
    bounds = _chunk_starts(clip)
    k = int(np.argmin(ps))
    return {"encoder": label, "frames_batch": len(a), "frames_one": len(b), "pts_equal": [x[0] for x in a] == [y[0] for y in b],
            "chunks": s["files"][0]["chunks"], "warmup_frames": s["warmup_frames"], "chunk_first_frames": bounds,
            "worst_psnr_db": round(min(ps), 2), "worst_frame": k,
            "worst_frame_after_boundary": min((k - i for i in bounds if i <= k), default=None),
            "median_psnr_db": round(float(np.median([min(p, 99) for p in ps])), 2),
            "frames_below_40db": int(sum(p < 40 for p in ps))}


def _chunk_starts(clip: Path) -> list[int]:
    """Frame indices where the chunks after the first begin."""
    from vdeblur.batch.plan import plan_file, scan_pts

    pts = scan_pts(str(clip))[0]
    return [pts.index(c.start) for c in plan_file(str(clip), 6.0, 0).chunks if c.start is not None]


def timed_batch(inputs, out: Path, model, workers: int, chunk_s) -> dict:
    shutil.rmtree(out, ignore_errors=True)      # a finished batch would be skipped, not measured
    t0 = time.perf_counter()
    s = run_batch(BatchConfig(tuple(map(str, inputs)), str(out), overwrite=True, model=model, ray="local",
                              chunk_s=chunk_s, workers=workers))
    wall = time.perf_counter() - t0
    busy = max(w["busy_s"] for w in s["per_worker"])
    return {"workers": workers, "chunk_s": chunk_s, "files": len(inputs), "frames": s["frames_out"],
            "wall_s": round(wall, 2), "fps_wall": round(s["frames_out"] / wall, 2),
            "files_per_min": round(len(inputs) / wall * 60, 2),
            "fps_busy": round(s["frames_out"] / busy, 2), "backend": s["per_worker"][0].get("backend"),
            "chunks": sum(f["chunks"] for f in s["files"])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--work", type=Path, default=Path("runs/batch_bench"))
    ap.add_argument("--skip", nargs="*", default=[], choices=["correctness", "scaling"])
    ap.add_argument("--exact-backend", default="onnxruntime",
                    help="correctness runs on this backend in fp32 in both modes, so that only chunking can "
                         "differ (auto may pick other backends or precisions for 1-thread workers and a "
                         "2-thread process, whose int8 kernels differ by 40-50 dB)")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    model = ModelConfig()
    exact = ModelConfig(backend=a.exact_backend, precision=Precision.FP32)
    long = a.work / "long600.mp4"
    if not long.exists():
        render(long, 600, 0)
    result = {"cpu": cpu_model(), "machine": platform.machine(), "model": "small", "backend": "auto"}
    if a.json and a.json.exists():          # keep the part not run this time
        result = {**json.loads(a.json.read_text()), **result}
    if "correctness" not in a.skip:
        result["correctness"] = [correctness(long, a.work, exact, EncodeConfig(crf=0), "lossless"),
                                 correctness(long, a.work, exact, EncodeConfig(), "default")]
        result["correctness_backend"] = f"{a.exact_backend} fp32"
        print(json.dumps(result["correctness"], indent=1, default=float))
    if "scaling" not in a.skip:
        files = []
        for i in range(4):
            f = a.work / f"file{i}.mp4"
            if not f.exists():
                render(f, 150, 5 + 3 * i)
            files.append(f)
        result["scaling"] = [timed_batch(files, a.work / "s1", model, 1, None),
                             timed_batch(files, a.work / "s2", model, 2, None),
                             timed_batch([long], a.work / "u1", model, 1, None),
                             timed_batch([long], a.work / "c1", model, 1, 6.0)]
        print(json.dumps(result["scaling"], indent=1))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
