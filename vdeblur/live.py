"""Live sources (streams, cameras): a Source that reconnects, keeps one timeline, and can always be stopped.

    src = LiveSource(url, ReconnectPolicy(), stop=lambda: flag.is_set())
    for frame in src.items(): ...       # DecodedFrame; frame.segment changes where the past is another stream

Every wait here (connecting, the backoff between attempts) looks at `stop` at least every 50 ms, so a stop
request ends a run within a second in every state; a read that blocks is bounded by read_timeout and the
pipeline stops waiting for it (pipeline.run_threads) rather than the other way round.
"""
from __future__ import annotations

import logging
import random
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator

from .errors import InputError, VdeblurError
from .source import ConnectionLost, DecodedFrame, Source
from .urls import mask_url

log = logging.getLogger("vdeblur")
POLL_S = 0.05


_LEFT_BLOCKED: list[threading.Thread] = []


def leave_blocked(thread: threading.Thread) -> None:
    """Record a thread left blocked inside FFmpeg (a connect or read that a stop did not wait for)."""
    _LEFT_BLOCKED.append(thread)


def blocked_threads_alive() -> bool:
    """Whether a thread left inside FFmpeg still runs: the interpreter must not be finalised under it (its
    FFmpeg threads would touch freed memory), so the command line exits at once instead (cli.entry)."""
    return any(t.is_alive() for t in _LEFT_BLOCKED)


def _libc():
    """glibc, or None (another C library: its allocator needs none of this)."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            lib = ctypes.CDLL("libc.so.6")
            _LIBC = lib if hasattr(lib, "malloc_trim") and hasattr(lib, "mallopt") else False
        except OSError:
            _LIBC = False
    return _LIBC or None


_LIBC = None
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8      # glibc's mallopt parameters


def settle_heap() -> None:
    """For a run that lasts days: big buffers (decoded pictures, frames) always mmapped, so freeing them
    hands the memory back (glibc raises its mmap threshold after each such free and would keep them in the
    heap instead), and two malloc arenas instead of one per thread (each connection's threads left theirs
    behind). A live run's RSS then stays level across reconnects (benchmarks/live_soak.py)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, 256 * 1024)
        libc.mallopt(_M_ARENA_MAX, 2)


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system (after a connection closes)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


class Stopped(VdeblurError):
    """A stop request (signal, --duration) came before the live source delivered its first frame."""


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff with jitter, the jittered wait capped at cap_s. max_attempts: connection
    attempts allowed per outage (None: no limit; 0: never reconnect)."""

    max_attempts: int | None = None
    base_s: float = 0.5
    cap_s: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return min(self.cap_s, self.base_s * 2 ** attempt * rng.uniform(0.5, 1.5))


def live_options(url: str, transport: str = "tcp") -> dict:
    """Low-latency open options for a live source. (Not fflags=nobuffer: it throws away the packets read
    while probing, the first keyframe among them, and a stream then shows nothing until its next one.)"""
    opts = {"flags": "low_delay"}
    if url.lower().startswith(("rtsp://", "rtsps://")):
        opts.update({"rtsp_transport": transport, "timeout": "5000000"})   # socket timeout, microseconds
    return opts


class Timeline:
    """Output timestamps for a live stream: strictly increasing, one frame period apart across reconnects
    and publisher restarts, whatever the input's timestamps do.

    The frame period is the median of the recent regular steps (the stream's nominal rate until there are
    some). A step backwards, or forwards by more than max(10 periods, 1 s), is a discontinuity: the
    timeline continues one period after the last frame and the caller resets the recurrent state."""

    def __init__(self, time_base: Fraction, nominal_rate: Fraction | None):
        self.tb = time_base
        self.nominal = (max(1, round(1 / (nominal_rate * time_base))) if nominal_rate else None)
        self.recent: deque[int] = deque(maxlen=32)
        self.offset = 0              # added to the input's pts
        self.last: int | None = None
        self.restarted = False
        self.one_second = max(1, round(1 / time_base))

    @property
    def period(self) -> int:
        return int(statistics.median(self.recent)) if self.recent else (self.nominal or 1)

    def place(self, pts: int | None) -> tuple[int, bool]:
        """(output pts, whether the input's timestamps jumped here). A frame without pts is one period on."""
        if pts is None:
            pts = (self.last if self.last is not None else 0) + self.period - self.offset
        if self.last is None:
            self.offset, self.last = -pts, 0
            return 0, False
        out = pts + self.offset
        step = out - self.last
        period = self.period
        restarted, self.restarted = self.restarted, False
        if restarted or step <= 0 or step > max(10 * period, self.one_second):
            out = self.last + period
            self.offset = out - pts
            self.last = out
            return out, not restarted
        self.recent.append(step)
        self.last = out
        return out, False

    def restart(self) -> None:
        """A new connection: its first frame continues one period after the last, whatever its pts."""
        self.restarted = True


class LiveSource:
    """A live input that reconnects: frames keep monotonically increasing pts across reconnects, and
    `segment` tells the consumer when to reset its recurrent state. The first audio track comes through as
    packets, shifted by the video's re-timing so A/V sync survives drops, jumps and reconnects.

    stop: polled while connecting and between attempts; when it turns true, a first connection that has
    not succeeded raises Stopped and items() ends."""

    def __init__(self, path: str, policy: ReconnectPolicy, input_format: str | None = None,
                 options: dict | None = None, read_timeout: float = 5.0, seed: int | None = None,
                 stop: Callable[[], bool] | None = None, open_timeout: float = 10.0):
        self.path = path
        self.policy = policy
        self.input_format = input_format
        self.extra_options = options or {}
        self.read_timeout = read_timeout
        self.open_timeout = open_timeout
        self.stop = stop or (lambda: False)
        self.rng = random.Random(seed)
        self.reconnects = 0
        self._errors_before = 0        # decode errors of the connections already closed
        self.error_detail = None
        self.left_out: list = []
        self._lock = threading.Lock()
        self._reading = False
        self._closed = False
        settle_heap()
        src = self._connect(first=True)
        if src is None:
            raise Stopped(f"stopped while connecting to {mask_url(path)}: nothing was received")
        self._src = src
        self.info = src.info
        # The audio is passed through, re-timed with the video (the sink re-encodes it where needed).
        self.passthrough = src.passthrough
        self._audio_index = src.passthrough[0].index if src.passthrough else None

    start_s = 0.0       # re-timed frames start at 0

    def seek(self, pts: int) -> None:
        raise InputError(f"a live input cannot seek: {mask_url(self.path)}")

    def shortfall(self, decoded: int) -> str | None:
        return None         # a stream announces no length

    @property
    def decode_errors(self) -> int:
        return self._errors_before + self._src.decode_errors

    def _open(self) -> Source:
        last: Exception | None = None
        transports = ("tcp", "udp") if self.path.lower().startswith("rtsp") else ("tcp",)
        for transport in transports:   # RTSP over TCP first, UDP as the fallback
            opts = {**live_options(self.path, transport), **self.extra_options}
            try:
                # Slice threads, not frame threads: each frame thread holds a picture back (latency), and
                # a decoder's frame threads are not all freed with it, so memory grew with every reconnect.
                src = Source(self.path, opts, self.input_format, timeout=(self.open_timeout, self.read_timeout),
                             thread_type="SLICE")
                src.raw_pts = True     # Timeline sees the jumps, to re-time them and reset the state
                src.passthrough = list(src.container.streams.audio[:1])   # the first audio track, if any
                return src
            except InputError as e:
                last = e
        raise last  # type: ignore[misc]

    def _open_or_stop(self) -> Source | None:
        """_open() in a helper thread, so that a stop request is seen while FFmpeg waits for the network;
        None when stopped (the helper closes what it opens after that)."""
        box: dict = {}
        lock = threading.Lock()

        def work():
            try:
                src = self._open()
            except BaseException as e:  # noqa: BLE001 - handed over below
                with lock:
                    box["error"] = e
                return
            with lock:
                if box.get("abandoned"):
                    src.close()
                else:
                    box["source"] = src

        t = threading.Thread(target=work, name="LiveConnect", daemon=True)
        t.start()
        while t.is_alive():
            t.join(POLL_S)
            if self.stop():
                with lock:
                    if "source" not in box and "error" not in box:
                        box["abandoned"] = True
                        leave_blocked(t)
                        return None
        if "error" in box:
            raise box["error"]
        return box["source"]

    def _wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when stopped meanwhile."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.stop():
                return True
            time.sleep(min(POLL_S, max(0.0, end - time.monotonic())))
        return self.stop()

    def _connect(self, first: bool = False) -> Source | None:
        """A connected Source, or None when stopped; InputError once max_attempts are used up."""
        attempt, t0 = 0, time.monotonic()
        while True:
            if self.stop():
                return None
            try:
                src = self._open_or_stop()
                if src is not None and (attempt or not first):
                    log.info(f"{'connected' if first else 'reconnected'} to {mask_url(self.path)} after "
                             f"{attempt + 1} attempt(s), {time.monotonic() - t0:.1f} s")
                return src
            except InputError as e:
                if self.policy.max_attempts is not None and attempt >= self.policy.max_attempts:
                    raise InputError(f"cannot connect to {mask_url(self.path)} after {attempt + 1} attempt(s): "
                                     f"{e}") from None
                wait = self.policy.delay(attempt, self.rng)
                attempt += 1
                log.warning(f"{'connect' if first else 'reconnect'} to {mask_url(self.path)} failed ({e}); "
                            f"attempt {attempt + 1} in {wait:.1f} s")
                if self._wait(wait):
                    return None

    def items(self, stop: Callable[[], bool] | None = None) -> Iterator[DecodedFrame]:
        """Frames until stop() (or the source's own stop) is true, or the source is gone for good."""
        stopped = (lambda: self.stop() or self._closed or (stop is not None and stop()))  # noqa: E731
        tb = self.info.time_base
        timeline = Timeline(tb, self.info.rate)
        index, segment = 0, 0
        awaiting_video = True        # audio waits for the video that fixes the timeline's offset
        with self._lock:
            self._reading = True
        src = self._src
        try:
            while True:
                try:
                    for item in src.items(stopped, live=True):
                        if not isinstance(item, DecodedFrame):
                            packet = self._retimed_audio(item, timeline, tb, awaiting_video)
                            if packet is not None:
                                yield packet
                            continue
                        awaiting_video = False
                        pts = item.pts
                        if pts is not None and src.info.time_base != tb:
                            pts = int(round(pts * src.info.time_base / tb))
                        out, jump = timeline.place(pts)
                        if jump:
                            segment += 1
                            log.warning(f"{mask_url(self.path)}: timestamps jumped; continuing the timeline at "
                                        f"{float(out * tb):.2f} s and starting the network's memory afresh")
                        if item.rgb.shape[:2] != (self.info.height, self.info.width):
                            import cv2

                            # The output stream cannot change size: scale to the first connection's size.
                            item.rgb = cv2.resize(item.rgb, (self.info.width, self.info.height),
                                                  interpolation=cv2.INTER_AREA)
                        item.pts, item.index, item.segment = out, index, segment
                        index += 1
                        yield item
                    return   # stopped
                except ConnectionLost as e:
                    self._errors_before += src.decode_errors
                    self.error_detail = src.error_detail or self.error_detail
                    src.close()
                    src = self._src = _Closed(src)
                    trim_heap()
                    if stopped():
                        return
                    if self.policy.max_attempts == 0:
                        log.warning(f"{mask_url(self.path)}: {e}; reconnecting is off (--reconnect-max 0)")
                        return
                    self.reconnects += 1
                    wait = self.policy.delay(0, self.rng)
                    log.warning(f"{mask_url(self.path)}: {e}; reconnecting (reconnect {self.reconnects}) in "
                                f"{wait:.1f} s")
                    if self._wait(wait):
                        return
                    new = self._connect()
                    if new is None:
                        return
                    src = self._src = new
                    timeline.restart()
                    awaiting_video = True
                    segment += 1
        finally:
            with self._lock:
                self._reading = False
                if self._closed:
                    self._src.close()

    def _retimed_audio(self, packet, timeline: Timeline, tb: Fraction, awaiting_video: bool):
        """An audio packet moved onto the output timeline (the video's offset), or None to leave it out:
        before the first frame of a connection, without a timestamp, or from another track."""
        if awaiting_video or packet.pts is None or packet.stream.index != self._audio_index:
            return None
        shift = round(timeline.offset * tb / packet.time_base)
        packet.pts += shift
        if packet.dts is not None:
            packet.dts += shift
        return packet if packet.pts >= 0 else None

    def close(self) -> None:
        """Close now, or, while items() is inside a blocking read in another thread, as soon as it returns
        (closing a container under a reading thread would crash FFmpeg)."""
        with self._lock:
            self._closed = True
            if not self._reading:
                try:
                    self._src.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass


class _Closed:
    """Stands in for a closed connection between an outage and the next connection."""

    def __init__(self, src: Source):
        self.decode_errors = 0
        self.error_detail = src.error_detail

    def close(self) -> None:
        pass
