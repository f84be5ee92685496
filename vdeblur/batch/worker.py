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
    queue_size: int = 1
    quality: str = "normal"         # for memory.plan_memory: a worker holds one frame at a time


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

    def _backend(self, job: Job):
        """The worker's one backend, opened for the first chunk's frame size (the CPU probe measures at it)."""
        if self.backend is None:
            from ..backends import open_backend
            from ..source import Source

            probe = Source(job.input, read_ahead=False)
            size = (probe.info.height, probe.info.width)
            probe.close()
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
        """The chunk through the same pipeline as a file run (run_file over the chunk's pts span, the worker's
        backend kept open between chunks), into a temporary file whose bytes are handed back."""
        from ..config import RunConfig
        from ..pipeline import run_file
        from ..timerange import Span

        chunk = job.chunk
        tmpdir = files.work_dir(tempfile.gettempdir(), "vdeblur-chunk-")    # a killed worker's is swept later
        try:
            out = tmpdir / f"chunk{job.ext}"
            cfg = RunConfig(input=job.input, output=str(out), overwrite=True, model=job.model, encode=job.encode,
                            scene_cut=job.scene_cut, tile=job.tile, max_memory_mb=job.max_memory_mb,
                            queue_size=job.queue_size, progress=False, live=False, quality=job.quality)

            def progress(written: int, total) -> None:
                self.progress_frames = written

            summary = run_file(cfg, on_progress=progress, backend=self._backend(job), signals=False,
                               span=Span(chunk.start, chunk.end, chunk.warm))
            return out.read_bytes(), summary["frames_out"], summary.get("frames_warm", 0), summary["decode_errors"]
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None
