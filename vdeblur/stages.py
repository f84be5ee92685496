"""The pipeline's threaded stages: decode -> model step -> encode, joined by bounded queues.

Each stage is an object whose run() is a thread body; `Flow` carries what they share (the stop flag, the
first error, the counters). A full queue blocks its producer in file mode (backpressure, nothing
dropped); in live mode the decode stage keeps only the newest frames and counts what it drops. A stage
that fails hands its exception to the Flow, which stops the others; every stage ends by passing END on.
"""
from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .deblurrer import Deblurrer
from .ensemble import DelayedProcessor
from .errors import VdeblurError
from .scenecut import SceneCutDetector
from .source import DecodedFrame
from .stats import StageTimes, summarize

log = logging.getLogger("vdeblur")
END = object()


@dataclass
class Flow:
    """Shared by the stages: stop (no more reading), failed (give up now), the first error, counters."""

    stop: threading.Event = field(default_factory=threading.Event)
    failed: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    abandoned: bool = False      # live: the decode thread was left blocked in a read (run_threads)
    interrupt_now: bool = False  # a stop signal raises at once (while the model is prepared: nothing to finish)
    counts: dict = field(default_factory=lambda: {"decoded": 0, "written": 0, "dropped": 0})

    def fail(self, e: BaseException) -> None:
        if self.error is None:
            self.error = e
        self.failed.set()
        self.stop.set()

    def put(self, q: queue.Queue, item) -> bool:
        """Blocking put that gives up when another stage failed."""
        while True:
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                if self.failed.is_set():
                    return False

    def get(self, q: queue.Queue):
        """Blocking get; END when another stage failed."""
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if self.failed.is_set():
                    return END


def idle_priority() -> None:
    """Put the calling thread (and the threads FFmpeg starts from it) at idle priority; best effort."""
    if not hasattr(os, "SCHED_IDLE"):
        return
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        pass  # not permitted here: stay at normal priority


class DecodeStage:
    """source.items() -> (frame, scene-cut signature or None, decode time) into `frames`, remuxed packets
    into `packets` (unbounded: decode is held back by `frames`, so it stays small)."""

    def __init__(self, source, flow: Flow, timer: StageTimes, frames: queue.Queue, packets: queue.Queue, *,
                 drop_oldest: bool, scene_cut: bool, idle: bool, enough):
        """drop_oldest: never wait for the model step, drop the oldest waiting frame instead (live)."""
        self.source, self.flow, self.timer = source, flow, timer
        self.frames, self.packets = frames, packets
        self.drop_oldest, self.scene_cut, self.idle, self.enough = drop_oldest, scene_cut, idle, enough

    def _put_newest(self, item) -> None:
        """Live mode: never wait for inference; make room by dropping the oldest waiting frame."""
        while True:
            try:
                self.frames.put_nowait(item)
                return
            except queue.Full:
                try:
                    self.frames.get_nowait()
                    self.flow.counts["dropped"] += 1
                except queue.Empty:
                    pass

    def run(self) -> None:
        if self.idle:
            idle_priority()
        flow = self.flow
        items = self.source.items(stop=lambda: flow.stop.is_set() or self.enough())
        try:
            t0 = time.perf_counter()
            for item in items:
                if not isinstance(item, DecodedFrame):
                    self.packets.put(item)
                    continue
                # The expensive half of cut detection runs here, off the inference thread.
                signature = SceneCutDetector.signature(item.rgb) if self.scene_cut else None
                t1 = time.perf_counter()
                self.timer.add("decode", (t1 - t0) * 1e3)
                flow.counts["decoded"] += not item.warm
                if self.drop_oldest:
                    self._put_newest((item, signature, t1))
                elif not flow.put(self.frames, (item, signature, t1)):
                    return
                t0 = time.perf_counter()
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            flow.fail(e)
        finally:
            # Finish the generator here, in its own thread: its cleanup (a live source closing its
            # connection) must not wait for garbage collection at interpreter exit, when FFmpeg's threads
            # would find their memory gone.
            items.close()
            if self.drop_oldest:
                self._put_newest(END)
            else:
                flow.put(self.frames, END)

    def finish_without_reading(self) -> None:
        """Live mode, called from another thread while run() is blocked in a read after a stop: END goes to
        the model step now, so the frames already decoded are finished without waiting for the network."""
        self._put_newest(END)


class InferStage:
    """Decoded frames -> deblurred frames (side by side with the input when `compare`)."""

    def __init__(self, deblurrer: Deblurrer, flow: Flow, frames: queue.Queue, done: queue.Queue, *,
                 compare: bool, explainer=None, time_base=None):
        self.deblurrer, self.flow, self.frames, self.done = deblurrer, flow, frames, done
        self.compare = compare
        # Tests stand in for a slow model with this (ms per step); it is no option of the CLI or the API.
        self.throttle_ms = float(os.environ.get("VDEBLUR_TEST_STEP_MS") or 0)
        self.explainer, self.time_base = explainer, time_base     # explain.Explainer, or None

    def run(self) -> None:
        flow = self.flow
        segment = 0
        # A delayed processor (ensemble.EnsembleDeblurrer) finishes frames later than it takes them: the
        # frames it holds wait here, each with whether a scene cut was found at it.
        delayed = isinstance(self.deblurrer, DelayedProcessor)
        waiting: deque = deque()
        try:
            while (item := flow.get(self.frames)) is not END:
                frame, signature, t_decoded = item
                if frame.segment != segment:   # the source reconnected: the past is another stream
                    if delayed and not self._emit(waiting, self.deblurrer.flush()):
                        return
                    self.deblurrer.reset()
                    if self.explainer is not None:
                        self.explainer.reset()
                    segment = frame.segment
                cuts = self.deblurrer.scene_cuts
                if delayed:
                    ready = self.deblurrer.push(frame.rgb, signature)
                    waiting.append((frame, t_decoded, self.deblurrer.scene_cuts != cuts))
                    if not self._emit(waiting, ready):
                        return
                    continue
                out = self.deblurrer.process(frame.rgb, signature)
                if not self._put(frame, out, t_decoded, self.deblurrer.scene_cuts != cuts):
                    return
            if delayed:
                self._emit(waiting, self.deblurrer.flush())
        except BaseException as e:  # noqa: BLE001
            flow.fail(e)
        finally:
            flow.put(self.done, END)

    def _emit(self, waiting: deque, outputs: list) -> bool:
        """Pair a delayed processor's outputs with the oldest waiting frames, in order, and pass them on."""
        for out in outputs:
            frame, t_decoded, cut = waiting.popleft()
            if not self._put(frame, out, t_decoded, cut):
                return False
        return True

    def _put(self, frame, out, t_decoded: float, cut: bool) -> bool:
        """One finished frame to the encoder (False: the run is stopping). cut: a scene cut was found at it."""
        if frame.warm:          # before a time range's start: it only warms the recurrent state
            return True
        if self.throttle_ms:
            time.sleep(self.throttle_ms / 1e3)
        view = None
        if self.explainer is not None:
            if cut:
                self.explainer.reset(cut=True)
            t = float(frame.pts * self.time_base) if frame.pts is not None and self.time_base else None
            view = self.explainer.frame(frame.rgb, out, frame.pts, t)
        if self.compare:
            out = compare_view(frame.rgb, out)
        return self.flow.put(self.done, (out, frame.pts, frame.received or t_decoded, view))


def compare_view(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """input | output side by side, each half labelled in its top-left corner (skipped on tiny frames)."""
    import cv2

    view = np.concatenate([before, after], axis=1)
    h, w = before.shape[:2]
    scale = max(0.35, min(h, w) / 720)
    if h >= 48 and w >= 96:
        for x, text in ((0, "input"), (w, "vdeblur")):
            org = (x + max(4, w // 80), max(12, int(24 * scale * 1.4)))
            cv2.putText(view, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), max(2, int(4 * scale)),
                        cv2.LINE_AA)
            cv2.putText(view, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), max(1, int(2 * scale)),
                        cv2.LINE_AA)
    return view


class LatencyLog:
    """Every `interval_s`, one log line of counts and latency percentiles over the frames since the last
    (kept only when an interval is set: an endless stream must not grow a list)."""

    def __init__(self, interval_s: float | None, flow: Flow, source):
        self.interval_s, self.flow, self.source = interval_s, flow, source
        self.recent: list[float] = []
        self.t_last = time.perf_counter()

    def add(self, now: float, latency_ms: float) -> None:
        if not self.interval_s:
            return
        self.recent.append(latency_ms)
        if now - self.t_last >= self.interval_s:
            c, st = self.flow.counts, summarize(self.recent)
            log.info(f"stats: in {c['decoded']} out {c['written']} dropped {c['dropped']} "
                     f"reconnects {self.source.reconnects}; latency ms p50 {st['median']:.0f} "
                     f"p95 {st['p95']:.0f} p99 {st['p99']:.0f} over {len(self.recent)} frames")
            self.recent, self.t_last = [], now


class EncodeStage:
    """Deblurred frames and remuxed packets -> the sink; per-frame encode and end-to-end times."""

    def __init__(self, sink, flow: Flow, timer: StageTimes, done: queue.Queue, packets: queue.Queue, *,
                 idle: bool, preview=None, on_progress=None, latency: LatencyLog | None = None, explain_sink=None):
        self.sink, self.flow, self.timer, self.done, self.packets = sink, flow, timer, done, packets
        self.idle, self.preview, self.on_progress, self.latency = idle, preview, on_progress, latency
        self.explain_sink = explain_sink        # the explain view's own video, frame for frame with the output

    def _drain_packets(self) -> None:
        while True:
            try:
                self.sink.write_packet(self.packets.get_nowait())
            except queue.Empty:
                return

    def _write(self, rgb: np.ndarray, pts: int, t_received: float, view: np.ndarray | None = None) -> None:
        t0 = time.perf_counter()
        self.sink.write_frame(rgb, pts)
        if view is not None and self.explain_sink is not None:
            self.explain_sink.write_frame(view, pts)
        t1 = time.perf_counter()
        self.timer.add("encode", (t1 - t0) * 1e3)
        self.timer.add("end_to_end", (t1 - t_received) * 1e3)
        self.flow.counts["written"] += 1
        if self.latency is not None:
            self.latency.add(t1, (t1 - t_received) * 1e3)
        if self.preview is not None:
            self.preview(rgb)
        if self.on_progress is not None:
            self.on_progress(self.flow.counts["written"])

    def run(self) -> None:
        if self.idle:
            idle_priority()
        try:
            while True:
                item = self.flow.get(self.done)
                self._drain_packets()
                if item is END:
                    break
                self._write(*item)
            self._drain_packets()
        except BaseException as e:  # noqa: BLE001
            self.flow.fail(e)


def open_preview():
    """A window showing the output frames; a clear error where there is no display or GUI support."""
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
