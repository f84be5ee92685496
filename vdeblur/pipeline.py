"""Wires the stages for file mode: source -> decode thread -> inference thread -> encode thread -> sink.

Stages are joined by bounded queues: a full queue blocks its producer (backpressure, nothing dropped),
so memory stays flat however long the input is. Ctrl-C / SIGTERM stop the reading; the frames already
read are finished, the encoder is flushed and the partial output is renamed into place.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .backends import open_backend
from .config import RunConfig
from .deblurrer import Deblurrer
from .scenecut import SceneCutDetector
from .errors import DamagedInput, VdeblurError
from .sink import FileSink, check_encoder, check_output
from .source import DecodedFrame, LiveSource, ReconnectPolicy, Source, is_live, mask_url
from .stats import StageTimes, summarize

log = logging.getLogger("vdeblur")

_END = object()
STAGES = ["decode", "preprocess", "inference", "postprocess", "encode", "end_to_end"]


class Interrupted(VdeblurError):
    """Raised after a stop by signal; the partial output has been written."""

    def __init__(self, signum: int, output: Path, frames: int):
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}: wrote {frames} frames to {output} (partial output)")


@dataclass
class _Shared:
    stop: threading.Event = field(default_factory=threading.Event)
    failed: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def fail(self, e: BaseException) -> None:
        if self.error is None:
            self.error = e
        self.failed.set()
        self.stop.set()


def _put(q: queue.Queue, item, shared: _Shared) -> bool:
    """Blocking put that gives up when another stage failed."""
    while True:
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            if shared.failed.is_set():
                return False


def _get(q: queue.Queue, shared: _Shared):
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if shared.failed.is_set():
                return _END


def _open_preview():
    """A window showing the output frames; a clear error where there is no display or GUI support."""
    import os

    import cv2

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise VdeblurError("--preview needs a display (no DISPLAY or WAYLAND_DISPLAY is set)")
    try:
        cv2.namedWindow("vdeblur", cv2.WINDOW_NORMAL)
    except cv2.error:
        raise VdeblurError("--preview needs OpenCV with GUI support (this one is headless: "
                           "pip install opencv-python instead of opencv-python-headless)") from None

    def show(rgb):
        cv2.imshow("vdeblur", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.waitKey(1)

    return show


def codec_idle(cfg: RunConfig, device: torch.device, live: bool) -> bool:
    """Whether the decode and encode threads run at idle priority (Linux SCHED_IDLE).

    In file mode with inference on the CPU, the model uses every core and is the bottleneck: each time a
    codec thread preempts one of its workers, the whole parallel operator waits. At idle priority the codecs
    run in the gaps between operators instead (with ONNX Runtime's workers sleeping, not spinning, when
    idle): 640x360 `small` pipeline 1.1x the fps on 2 cores (benchmarks/codec_priority.py). Live mode keeps
    normal priority: there, decoding late means latency."""
    if cfg.codec_idle is not None:
        return cfg.codec_idle
    return device.type == "cpu" and not live


def _idle_priority() -> None:
    """Put the calling thread (and the threads FFmpeg starts from it) at idle priority; best effort."""
    if not hasattr(os, "SCHED_IDLE"):
        return
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        pass  # not permitted here: stay at normal priority


def run_file(cfg: RunConfig, on_progress=None, backend=None, timer: StageTimes | None = None) -> dict:
    """Deblur cfg.input into cfg.output (a file, or a stream URL). Returns the run summary (also written
    to cfg.json_path).

    File mode: every frame goes through (backpressure). Live mode (streams, cameras; cfg.live): the
    source reconnects, and when inference falls behind the oldest waiting frames are dropped before
    inference and counted.

    backend: an already open backend to use (and leave open), e.g. a warmed-up one in `vdeblur bench`;
    by default one is opened from cfg.model and closed at the end. timer: collects the per-frame samples.
    """
    out_path = check_output(cfg.input, cfg.output, cfg.overwrite)
    check_encoder(cfg.encode.codec)
    live = cfg.live if cfg.live is not None else is_live(cfg.input, cfg.input_format)
    preview = _open_preview() if cfg.preview else None
    if live:
        source = LiveSource(cfg.input, ReconnectPolicy(cfg.reconnect_max), cfg.input_format)
        log.info(f"live source {mask_url(cfg.input)}: newest frames kept, reconnects "
                 f"{'unbounded' if cfg.reconnect_max is None else cfg.reconnect_max}")
    else:
        source = Source(cfg.input, input_format=cfg.input_format)
    info = source.info
    if info.bit_depth > 8:
        log.warning(f"warning: {info.bit_depth}-bit input ({info.pix_fmt}) is processed and written as "
                    f"8-bit {cfg.encode.pix_fmt or 'yuv420p'}")
    owns_backend = backend is None
    if owns_backend:
        try:
            backend = open_backend(cfg.model, log=log.info)
        except Exception:
            source.close()
            raise
    timer = timer if timer is not None else StageTimes(STAGES)
    deblurrer = Deblurrer(backend, timer, owns_backend=owns_backend, scene_cut=cfg.scene_cut)
    width = info.width * (2 if cfg.compare else 1)
    idle = codec_idle(cfg, backend.device, live)
    try:
        sink = FileSink(out_path, info, cfg.encode, width, info.height, source.passthrough, live=live)
    except Exception:
        source.close()
        deblurrer.close()
        raise

    shared = _Shared()
    q_decoded: queue.Queue = queue.Queue(maxsize=cfg.live_queue if live else cfg.queue_size)
    q_done: queue.Queue = queue.Queue(maxsize=cfg.queue_size)
    # Remuxed packets bypass inference; decode is held back by q_decoded, so this stays small too.
    q_packets: queue.Queue = queue.Queue()
    counts = {"decoded": 0, "written": 0, "dropped": 0}
    t_begin = time.perf_counter()

    def enough() -> bool:
        if cfg.max_frames is not None and counts["decoded"] >= cfg.max_frames:
            return True
        return cfg.duration_s is not None and time.perf_counter() - t_begin >= cfg.duration_s

    def stop_reading() -> bool:
        return shared.stop.is_set() or enough()

    def put_newest(item) -> None:
        """Live mode: never wait for inference; make room by dropping the oldest waiting frame."""
        while True:
            try:
                q_decoded.put_nowait(item)
                return
            except queue.Full:
                try:
                    q_decoded.get_nowait()
                    counts["dropped"] += 1
                except queue.Empty:
                    pass

    def decode_stage():
        if idle:
            _idle_priority()
        try:
            t0 = time.perf_counter()
            for item in source.items(stop=stop_reading):
                if isinstance(item, DecodedFrame):
                    if cfg.scene_cut:
                        # The expensive half of cut detection runs here, off the inference thread.
                        item.signature = SceneCutDetector.signature(item.rgb)
                    t1 = time.perf_counter()
                    timer.add("decode", (t1 - t0) * 1e3)
                    counts["decoded"] += 1
                    if live:
                        put_newest((item, t1))
                    elif not _put(q_decoded, (item, t1), shared):
                        return
                    t0 = time.perf_counter()
                else:
                    q_packets.put(item)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            shared.fail(e)
        finally:
            _put(q_decoded, _END, shared)

    def infer_stage():
        segment = 0
        try:
            while True:
                item = _get(q_decoded, shared)
                if item is _END:
                    break
                frame, t_decoded = item
                if frame.segment != segment:   # the source reconnected: the past is another stream
                    deblurrer.reset()
                    segment = frame.segment
                out = deblurrer.process(frame.rgb, frame.signature)
                if cfg.throttle_ms:
                    time.sleep(cfg.throttle_ms / 1e3)
                if cfg.compare:
                    out = np.concatenate([frame.rgb, out], axis=1)
                if not _put(q_done, (out, frame.pts, frame.received or t_decoded), shared):
                    return
        except BaseException as e:  # noqa: BLE001
            shared.fail(e)
        finally:
            _put(q_done, _END, shared)

    def drain_packets():
        while True:
            try:
                sink.write_packet(q_packets.get_nowait())
            except queue.Empty:
                return

    def encode_stage():
        if idle:
            _idle_priority()
        t_stats = time.perf_counter()
        recent: list[float] = []
        try:
            while True:
                item = _get(q_done, shared)
                drain_packets()
                if item is _END:
                    break
                rgb, pts, t_received = item
                t0 = time.perf_counter()
                sink.write_frame(rgb, pts)
                t1 = time.perf_counter()
                timer.add("encode", (t1 - t0) * 1e3)
                timer.add("end_to_end", (t1 - t_received) * 1e3)
                if cfg.stats_interval_s:   # only then: an endless stream must not grow this list
                    recent.append((t1 - t_received) * 1e3)
                counts["written"] += 1
                if preview is not None:
                    preview(rgb)
                if on_progress is not None:
                    on_progress(counts["written"])
                if cfg.stats_interval_s and t1 - t_stats >= cfg.stats_interval_s:
                    st = summarize(recent)
                    log.info(f"stats: in {counts['decoded']} out {counts['written']} dropped {counts['dropped']} "
                             f"reconnects {getattr(source, 'reconnects', 0)}; latency ms p50 {st['median']:.0f} "
                             f"p95 {st['p95']:.0f} p99 {st['p99']:.0f} over {len(recent)} frames")
                    recent, t_stats = [], t1
            drain_packets()
        except BaseException as e:  # noqa: BLE001
            shared.fail(e)

    received: list[int] = []

    def on_signal(signum, _frame):
        if received:
            # A second signal: give up at once; the temporary file is removed, OUTPUT is untouched.
            raise KeyboardInterrupt
        received.append(signum)
        shared.stop.set()

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, on_signal)
    t_start = time.perf_counter()
    threads = [threading.Thread(target=f, name=f.__name__, daemon=True)
               for f in (decode_stage, infer_stage, encode_stage)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.2)
    except KeyboardInterrupt:
        shared.fail(KeyboardInterrupt())
        for t in threads:
            t.join(timeout=5)
        sink.abort()
        source.close()
        deblurrer.close()
        raise
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
    wall = time.perf_counter() - t_start

    if shared.error is not None:
        sink.abort()
        source.close()
        deblurrer.close()
        err = shared.error
        if isinstance(err, VdeblurError):
            raise err
        raise VdeblurError(f"processing failed: {type(err).__name__}: {err}") from err
    sink.close()
    source.close()
    deblurrer.close()

    summary = {
        "input": mask_url(cfg.input),
        "output": mask_url(str(out_path)),
        "backend": backend.name,
        "model": backend.info.get("preset", cfg.model.spec),
        "width": info.width,
        "height": info.height,
        "frames_in": counts["decoded"],
        "frames_out": counts["written"],
        "frames_dropped": counts["dropped"],
        "reconnects": getattr(source, "reconnects", 0),
        "scene_cuts": deblurrer.scene_cuts,
        "live": live,
        "decode_errors": source.decode_errors,
        "wall_s": wall,
        "fps": counts["written"] / wall if wall > 0 else 0.0,
        "stages_ms": timer.summary(),
        "interrupted": bool(received),
    }
    if cfg.json_path:
        Path(cfg.json_path).write_text(json.dumps(summary, indent=2) + "\n")
    if received:
        raise Interrupted(received[0], out_path, counts["written"])
    if source.decode_errors:
        raise DamagedInput(f"damaged input: {source.decode_errors} packet(s) could not be decoded "
                           f"({source.error_detail}); the {counts['written']} frames that decoded were all "
                           f"written to {out_path}")
    return summary
