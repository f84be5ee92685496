"""One chunk of one file: decode from the warm-up, deblur, encode the chunk's own frames into a file of the
output's container, hand its bytes back. A ChunkWorker holds one backend for all its chunks (the model is
loaded, and an engine built, once per worker); vdeblur.batch.run makes it a Ray actor.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import av

from .. import files
from ..config import EncodeConfig, ModelConfig
from .plan import Chunk


@dataclass(frozen=True)
class Job:
    """What a worker needs for one chunk: the input, the chunk, and the run's settings."""

    file: int                   # index of the file in the batch
    input: str
    chunk: Chunk
    ext: str                    # the output's extension: chunks are written in the same container
    model: ModelConfig
    encode: EncodeConfig
    scene_cut: bool = True
    tile: int | None = None
    max_memory_mb: int | None = 3072
    queue_size: int = 1         # for memory.plan_memory: a worker holds one frame at a time


@dataclass(frozen=True)
class Result:
    file: int
    chunk: int
    data: bytes                 # the encoded chunk: a complete file of the output's container
    frames: int                 # frames written (the chunk's own)
    warm_frames: int            # frames run through the network before the chunk, outputs discarded
    decode_errors: int
    seconds: float
    worker: str                 # host:pid that did it
    backend: str
    error: str = ""             # a one-line error (bad input, bad options): the chunk failed for good


class ChunkWorker:
    """A plain class (Ray wraps it as an actor; tests may call it directly)."""

    def __init__(self, threads: int = 0):
        self.threads = threads
        self.backend = None
        self.progress_frames = 0    # frames of the current chunk run through the network
        self.chunks = 0
        self._lock = threading.Lock()

    def progress(self) -> int:
        return self.progress_frames

    def _backend(self, job: Job, size: tuple[int, int]):
        if self.backend is None:
            from ..backends import open_backend

            model = replace(job.model, threads=job.model.threads or self.threads)
            self.backend = open_backend(model, size=size)
        return self.backend

    def process(self, job: Job) -> Result:
        from ..errors import VdeblurError

        with self._lock:            # one chunk at a time; progress() runs beside it
            self.progress_frames = 0
            t0 = time.perf_counter()
            where = f"{socket.gethostname()}:{os.getpid()}"
            try:
                data, frames, warm, errors = self._run(job)
            except VdeblurError as e:
                return Result(job.file, job.chunk.index, b"", 0, 0, 0, time.perf_counter() - t0, where, "",
                              error=str(e))
            self.chunks += 1
            return Result(job.file, job.chunk.index, data, frames, warm, errors, time.perf_counter() - t0, where,
                          f"{self.backend.name} {self.backend.precision.value}")

    def _run(self, job: Job) -> tuple[bytes, int, int, int]:
        from ..deblurrer import Deblurrer
        from ..memory import plan_memory
        from ..scenecut import SceneCutDetector
        from ..sinks.video import FileSink

        chunk = job.chunk
        source, decoded = _open_at(job.input, chunk.warm)
        tmpdir = files.work_dir(tempfile.gettempdir(), "vdeblur-chunk-")    # a killed worker's is swept later
        try:
            info = source.info
            backend = self._backend(job, (info.height, info.width))
            mem = plan_memory(info.height, info.width, backend, job)
            encode = replace(job.encode, options=mem.encode_options + job.encode.options)
            deblurrer = Deblurrer(backend, owns_backend=False, scene_cut=job.scene_cut, tile=mem.tile)
            sink = FileSink(tmpdir / f"chunk{job.ext}", info, encode, info.width, info.height, [])
            try:
                frames = warm = 0
                for item in decoded:
                    if chunk.warm is not None and item.pts < chunk.warm:
                        continue
                    if chunk.end is not None and item.pts >= chunk.end:
                        break
                    signature = SceneCutDetector.signature(item.rgb) if job.scene_cut else None
                    out = deblurrer.process(item.rgb, signature)
                    self.progress_frames += 1
                    if chunk.start is not None and item.pts < chunk.start:
                        warm += 1
                        continue
                    sink.write_frame(out, item.pts)
                    frames += 1
                path = sink.close()
            except BaseException:
                sink.abort()
                raise
            return Path(path).read_bytes(), frames, warm, source.decode_errors
        finally:
            decoded.close()         # the decoding generator ends before its container closes
            source.close()
            shutil.rmtree(tmpdir, ignore_errors=True)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None


def _open_at(path: str, warm: int | None):
    """(source, its decoded frames) starting at or before pts `warm` (None: the first frame): from the keyframe
    before it where the demuxer can seek there; where it lands after it (MPEG-TS seeks by a byte estimate),
    from the start instead: a frame must never be skipped."""
    from ..source import DecodedFrame, Source

    def frames(src):
        return (i for i in src.items() if isinstance(i, DecodedFrame))

    source = Source(path, read_ahead=False)
    if warm is None:
        return source, frames(source)
    try:
        source.seek(warm)
    except av.error.FFmpegError:
        source.close()
        source = Source(path, read_ahead=False)
        return source, frames(source)
    it = frames(source)
    first = next(it, None)
    if first is not None and first.pts > warm:
        it.close()
        source.close()
        source = Source(path, read_ahead=False)
        return source, frames(source)

    def again():            # a generator (not itertools.chain): close() reaches the source's own
        if first is not None:
            yield first
        yield from it
    return source, again()
