"""Chunks run by a worker and joined without re-encoding give the single-process output: same frames, pts
and audio, and pictures equal up to the warm-up (checked with a lossless encoder so that only the
network's state can differ)."""
from __future__ import annotations

import av
import numpy as np
import pytest
from clips import audio_packets, make_clip, video_pts

from vdeblur.batch.join import join_chunks
from vdeblur.colour import frame_to_rgb
from vdeblur.batch.plan import plan_file
from vdeblur.batch.worker import ChunkWorker, Job
from vdeblur.config import EncodeConfig, ModelConfig, Precision, RunConfig
from vdeblur.pipeline import run_file

LOSSLESS = EncodeConfig(crf=0)


def frames(path):
    with av.open(str(path)) as c:
        return [frame_to_rgb(f).astype(np.float32) for f in c.decode(video=0)]


def psnr(a, b):
    return 10 * np.log10(255 ** 2 / max(float(((a - b) ** 2).mean()), 1e-10))


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".ts"])
def test_joined_chunks_match_one_process(tmp_path, tiny_weights, ext):
    src = tmp_path / f"in{ext}"
    make_clip(src, frames=60, width=96, height=64)
    model = ModelConfig(spec=str(tiny_weights), backend="torch", device="cpu", precision=Precision.FP32)
    plan = plan_file(str(src), 0.6, warmup=12)
    assert len(plan.chunks) >= 3
    worker = ChunkWorker(threads=1)
    parts = []
    for c in plan.chunks:
        r = worker.process(Job(0, str(src), c, ext, model, LOSSLESS))
        assert not r.error and r.frames == c.frames
        assert r.warm_frames == (0 if c.start is None else 12)
        parts.append(tmp_path / f"part{c.index}{ext}")
        parts[-1].write_bytes(r.data)
    joined = join_chunks(str(src), parts, tmp_path / f"joined{ext}", LOSSLESS, overwrite=False)
    assert joined["frames"] == 60
    run_file(RunConfig(str(src), str(tmp_path / f"one{ext}"), model=model, encode=LOSSLESS))
    assert video_pts(tmp_path / f"joined{ext}") == video_pts(tmp_path / f"one{ext}") == video_pts(src)
    assert audio_packets(tmp_path / f"joined{ext}") == audio_packets(tmp_path / f"one{ext}")
    worst = min(psnr(a, b) for a, b in zip(frames(tmp_path / f"joined{ext}"), frames(tmp_path / f"one{ext}")))
    assert worst >= 40


def test_bad_input_is_a_one_line_result_not_a_crash(tmp_path, tiny_weights):
    src = tmp_path / "in.mp4"
    make_clip(src, frames=8, width=64, height=48, audio=False)
    plan = plan_file(str(src), None, 4)
    src.unlink()
    r = ChunkWorker().process(Job(0, str(src), plan.chunks[0], ".mp4",
                                  ModelConfig(spec=str(tiny_weights), backend="torch"), EncodeConfig()))
    assert r.data == b"" and r.error.startswith("input not found")


def test_a_chunk_at_quality_high_writes_every_frame(tmp_path, tiny_weights):
    src = tmp_path / "in.mp4"
    make_clip(src, frames=30, width=64, height=48)
    model = ModelConfig(spec=str(tiny_weights), backend="onnxruntime", precision=Precision.FP32)
    chunk = plan_file(str(src), 0.6, warmup=6).chunks[1]
    r = ChunkWorker(threads=1).process(Job(0, str(src), chunk, ".mp4", model, LOSSLESS, quality="high"))
    assert not r.error and r.frames == chunk.frames and r.warm_frames == 6


def test_quality_high_is_part_of_the_batch_settings():
    from vdeblur.batch.run import _settings
    from vdeblur.config import BatchConfig

    normal = BatchConfig(inputs=("a.mp4",), output_dir="out")
    assert _settings(normal, "w", 8) != _settings(BatchConfig(inputs=("a.mp4",), output_dir="out",
                                                               quality="high"), "w", 8)
