"""Wires the stages: source -> decode thread -> model-step thread -> encode thread -> sink (stages.py).

Stages are joined by bounded queues: a full queue blocks its producer (backpressure, nothing dropped),
so memory stays flat however long the input is. Ctrl-C / SIGTERM stop the reading; the frames already
read are finished, the encoder is flushed and the partial output is put in place. Cleanup after any
failure is written once, as the ExitStack in run_file.
"""
from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from . import files
from .backends import open_backend
from .backends.base import entry
from .config import RunConfig
from .deblurrer import Deblurrer
from .ensemble import EnsembleDeblurrer
from .errors import DamagedInput, InputError, Interrupted, ModelError, OutputClosed, UsageError, VdeblurError
from .memory import plan_memory
from .paths import REPORT_SUFFIXES, Written, check_written
from .policy import Policy
from .report import run_summary, write_summary
from .ring import on_gpu
from .sinks import check_output, open_sink
from .sinks.encode import check_encode, raw_encode
from .sinks.video import PIPE_FORMATS
from .urls import pipe_target
from .inputs import VideoSource, is_live_run, open_input
from .live import Stopped, leave_blocked
from .urls import mask_url
from .urls import is_url
from .stages import DecodeStage, EncodeStage, Flow, InferStage, LatencyLog, open_preview
from .stats import StageTimes
from .timerange import RangedSource, Span, TimeRange

log = logging.getLogger("vdeblur")

STAGES = ["decode", "preprocess", "inference", "postprocess", "encode", "end_to_end"]


STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def codec_idle(cfg: RunConfig, device, live: bool) -> bool:
    """Whether the decode and encode threads run at idle priority (Linux SCHED_IDLE).

    In file mode with inference on the CPU, the model uses every core and is the bottleneck: each time a
    codec thread preempts one of its workers, the whole parallel operator waits. At idle priority the codecs
    run in the gaps between operators instead (with ONNX Runtime's workers sleeping, not spinning, when
    idle): 640x360 `small` pipeline 1.1x the fps on 2 cores (benchmarks/codec_priority.py). Live mode keeps
    normal priority: there, decoding late means latency."""
    if cfg.codec_idle is not None:
        return cfg.codec_idle
    return not on_gpu(device) and not live


def open_source(cfg: RunConfig, live: bool, stop=None) -> VideoSource:
    """The input opened by its kind (vdeblur.inputs); a live one polls stop() while it connects."""
    if live:
        log.info(f"live source {mask_url(cfg.input)}: newest frames kept, reconnects "
                 f"{'unbounded' if cfg.reconnect_max is None else cfg.reconnect_max}")
    source = open_input(cfg, live, stop)
    if source.info.bit_depth > 8:
        log.warning(f"warning: {source.info.bit_depth}-bit input ({source.info.pix_fmt}) is processed and written "
                    f"as 8-bit {cfg.encode.pix_fmt or 'yuv420p'}")
    return source


@contextmanager
def stop_on_signals(flow: Flow):
    """For the whole run: the first SIGINT/SIGTERM/SIGHUP (a closed terminal) sets flow.stop, and is
    recorded in the yielded list; a second one raises KeyboardInterrupt. (Handlers can only be installed
    from the main thread; elsewhere signals keep their defaults.)"""
    received: list[int] = []

    def on_signal(signum, _frame):
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        flow.stop.set()
        if flow.interrupt_now:      # model load, export, quantization, probe: nothing to finish, stop now
            raise SetupStopped(signum)

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            old[sig] = signal.signal(sig, on_signal)
    try:
        yield received
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


class SetupStopped(BaseException):
    """A stop signal while the model was being prepared (a BaseException, so no library's `except
    Exception` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def run_threads(stages: list, flow: Flow, policy: Policy, deadline: float | None = None) -> None:
    """Run each stage's run() in its own thread until all end (stages[0] decodes, and feeds stages[1]
    through `frames`). Past `deadline` (time.monotonic()) flow.stop is set. Where the policy says so (live),
    a decode thread still blocked in a read a moment after a stop is left behind: the frames in flight are
    finished without it, so a stop takes effect within a second whatever the network does (the source
    closes itself when the read returns)."""
    threads = [threading.Thread(target=st.run, name=type(st).__name__, daemon=True) for st in stages]
    try:
        for t in threads:
            t.start()
        stopped_at = None
        waiting = list(threads)
        while waiting:
            waiting[0].join(timeout=0.05)
            waiting = [t for t in waiting if t.is_alive()]
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                flow.stop.set()
            if flow.stop.is_set() and stopped_at is None:
                stopped_at = now
            decoder = threads[0]
            grace = policy.abandon_read_after_s
            if grace is not None and stopped_at is not None and decoder in waiting and now - stopped_at > grace:
                waiting.remove(decoder)
                flow.abandoned = True
                leave_blocked(decoder)
                stages[0].finish_without_reading()
    except KeyboardInterrupt:
        flow.fail(KeyboardInterrupt())
        for t in threads:
            t.join(timeout=5)
        raise


def check_run(cfg: RunConfig):
    """Everything about the options that can be checked before any work: every path the run writes
    (vdeblur.paths), the destination, the encoder and its options, the backend's name, the limits. Returns
    the destination."""
    for name, v in (("max_frames", cfg.max_frames), ("duration_s", cfg.duration_s),
                    ("stats_interval_s", cfg.stats_interval_s)):
        if v is not None and not v > 0:     # `not >` also refuses nan
            raise UsageError(f"{name.replace('_s', '').replace('_', '-')} must be positive, got {v}")
    live = is_live_run(cfg)
    time_range(cfg, live)
    if cfg.quality not in ("normal", "high"):
        raise UsageError(f"--quality must be normal or high, got {cfg.quality!r}")
    if cfg.quality == "high" and live:
        raise UsageError("--quality high is for files: its backward pass looks ahead in time (use the default "
                         "on a live input)")
    check_devices(cfg, live)
    most = 4 * (os.cpu_count() or 1)
    if not 0 <= cfg.model.threads <= most:
        raise UsageError(f"--threads must be between 0 (every core) and {most} (4 x this machine's "
                         f"{most // 4} CPUs), got {cfg.model.threads}")
    check_written(run_inputs(cfg), run_outputs(cfg), cfg.overwrite)
    dest = check_output(cfg.input, cfg.output, cfg.overwrite)
    if cfg.explain_path is not None:
        check_output(cfg.input, cfg.explain_path, cfg.overwrite)
    if cfg.explain_path is not None or cfg.report_path is not None:
        import importlib.util

        missing = [m for m in ("torch", "matplotlib")[:2 if cfg.report_path else 1] if not importlib.util.find_spec(m)]
        if missing:
            raise UsageError(f"--explain and --report need {' and '.join(missing)} (pip install 'vdeblur[explain]')")
        from . import explain

        if not explain.WEIGHTS.exists():
            raise ModelError(f"--explain and --report need the blur estimator, which is not installed "
                             f"(expected {explain.WEIGHTS})")
    check_encode(cfg.encode)
    if pipe_target(cfg.output, 1) and (cfg.encode.container or "nut") not in PIPE_FORMATS:
        raise UsageError(f"-f {cfg.encode.container} cannot be written to a pipe (it seeks back to finish the "
                         f"file); use one of {', '.join(PIPE_FORMATS)}")
    if cfg.model.backend != "auto":
        entry(str(getattr(cfg.model.backend, "value", cfg.model.backend)))
    return dest


def locked_paths(cfg: RunConfig, dest) -> list[Path]:
    """The files (image sequences: the folder) a run holds locked while it writes them."""
    paths = [dest.target] if isinstance(dest.target, Path) else []
    if paths and images_pattern(cfg.output):
        paths = [paths[0].parent if str(paths[0].parent) else Path(".")]
    if cfg.explain_path:
        paths.append(Path(cfg.explain_path))
    return [Path(os.path.realpath(p)) for p in paths]


def images_pattern(output: str) -> bool:
    from .sinks import images

    return images.matches(output)


CAPTURE_FORMATS_WITHOUT_PATH = ("lavfi", "x11grab", "kmsgrab", "avfoundation", "dshow", "gdigrab")


def check_devices(cfg: RunConfig, live: bool) -> None:
    """Fail at once, as ffmpeg does, for a capture device that is not there (only network sources are worth
    retrying) and for --device cuda where there is no CUDA."""
    if (live and not is_url(cfg.input) and cfg.input_format not in CAPTURE_FORMATS_WITHOUT_PATH
            and not os.path.exists(cfg.input)):
        raise InputError(f"capture device not found: {cfg.input}")
    if str(cfg.model.device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--device {cfg.model.device}: no CUDA GPU is usable here (use --device cpu or auto)")


def time_range(cfg: RunConfig, live: bool) -> TimeRange | None:
    """The run's range in media time (-ss, -t, -to; --duration on a file is -t); live inputs have none."""
    span = cfg.span_s
    if not live and cfg.duration_s is not None and span is None and cfg.end_s is None:
        span = cfg.duration_s
    rng = TimeRange.of(cfg.start_s, span, cfg.end_s, cfg.copyts)
    if rng is not None and live:
        raise UsageError("-ss, -t and -to are media time: a live input has none (--duration is wall time there)")
    return rng


def run_inputs(cfg: RunConfig) -> list[str]:
    """The files a run reads: the input, weights given as a path, calibration videos."""
    return [p for p in (cfg.input, cfg.model.spec, cfg.model.calibration) if p]


def run_outputs(cfg: RunConfig) -> list[Written]:
    out = [Written("OUTPUT", cfg.output, is_pattern=images_pattern(cfg.output), stdout=True)]
    if cfg.explain_path is not None:
        out.append(Written("--explain", cfg.explain_path))
    if cfg.json_path is not None:
        out.append(Written("--json", cfg.json_path, (".json",), stdout=True))
    if cfg.report_path is not None:
        out.append(Written("--report", cfg.report_path, REPORT_SUFFIXES))
    return out


def progress_total(info, cfg: RunConfig, rng: TimeRange | None = None) -> int | None:
    """Frames the run is expected to write: the container's count, else its duration x the frame rate; a
    time range's share of it."""
    total = info.frames or (round(info.duration_s * float(info.rate)) if info.duration_s and info.rate else None)
    if rng is not None and info.rate:
        end = rng.end_s if rng.end_s is not None else (info.duration_s or 0)
        total = max(0, round((end - rng.start_s) * float(info.rate))) or total
    return min(filter(None, [total, cfg.max_frames]), default=None)


def ranged(cfg: RunConfig, live: bool, source, backend, rng: TimeRange | None, span: Span | None):
    """(source, range): the source seen through the run's time range or the worker's span, if any."""
    if span is not None:
        rng = TimeRange.of_span(span, source.info.time_base, source.start_s)
    if rng is None:
        return source, None
    # Twice the frames the state remembers (the weights' card), as the batch chunks warm up.
    warm = 2 * int(backend.info.get("state_memory_frames", 8))
    return RangedSource(source, rng, warm, reopen=lambda: open_source(cfg, live)), rng


class Deadline:
    """--duration on a live input: wall time from the start, connecting included (a source that is down
    cannot hold a run), preparing the model not. seconds None: none (on a file --duration is media time,
    a time range like -t)."""

    def __init__(self, seconds: float | None):
        self.at = time.monotonic() + seconds if seconds is not None else None

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    @contextmanager
    def paused(self):
        t0 = time.monotonic()
        try:
            yield
        finally:
            if self.at is not None:
                self.at += time.monotonic() - t0


def model_step(cfg: RunConfig, backend, timer, tile: int | None):
    """The model-step stage: a Deblurrer, or for --quality high the three-pass ensemble (ensemble.py)."""
    if cfg.quality == "high":
        return EnsembleDeblurrer(backend, timer, scene_cut=cfg.scene_cut, tile=tile)
    return Deblurrer(backend, timer, owns_backend=False, scene_cut=cfg.scene_cut, tile=tile)


def run_file(cfg: RunConfig, on_progress=None, backend=None, timer: StageTimes | None = None,
             span: Span | None = None, signals: bool = True) -> dict:
    """Deblur cfg.input into cfg.output (a file, an image sequence or a stream URL). Returns the run
    summary (also written to cfg.json_path).

    File mode: every frame goes through (backpressure). Live mode (streams, cameras; cfg.live): the
    source reconnects, and when inference falls behind the oldest waiting frames are dropped before
    inference and counted.

    on_progress(written, total): called after each frame is written; total is progress_total() (None when
    the input does not say). backend: an already open backend to use (and leave open), e.g. a warmed-up one
    in `vdeblur bench`; by default one is opened from cfg.model and closed at the end. timer: collects the
    per-frame samples. span: a pts range of the input's video, written alone (the batch worker's chunk;
    it replaces cfg's time range). signals: handle SIGINT/SIGTERM/SIGHUP (a worker leaves them to its host).
    """
    cfg = replace(cfg, encode=raw_encode(cfg.encode))
    dest = check_run(cfg)
    live = is_live_run(cfg)
    preview = open_preview() if cfg.preview else None
    timer = timer if timer is not None else StageTimes(STAGES)
    flow = Flow()
    deadline = Deadline(cfg.duration_s if live else None)
    rng = time_range(cfg, live)
    with ExitStack() as stack:
        for path in locked_paths(cfg, dest):
            stack.enter_context(files.hold(path))
        received = stack.enter_context(stop_on_signals(flow)) if signals else []
        try:
            source = open_source(cfg, live, stop=lambda: flow.stop.is_set() or deadline.passed())
        except Stopped as e:
            if received:
                raise Interrupted(received[0], dest, 0, note=str(e)) from None
            raise InputError(f"no video frames from {mask_url(cfg.input)} within --duration {cfg.duration_s:g} s "
                             f"(it never connected); nothing written") from None
        stack.callback(lambda: source.close())     # whichever source is current (a range may reopen it)
        info = source.info
        if backend is None:
            with deadline.paused():      # preparing the model (a first run's probe, int8) is not stream time
                backend = open_model(cfg, info, flow, dest)
            stack.callback(backend.close)
        source, rng = ranged(cfg, live, source, backend, rng, span)
        mem, encode = memory_plan(cfg, info, backend)
        sink = open_sink(dest, info, encode, info.width * (2 if cfg.compare else 1), info.height,
                         source.passthrough if span is None else [], live=live, overwrite=cfg.overwrite,
                         left_out=source.left_out)
        # Leaving by an exception (a stage's error, a missing model) removes the output; success closes it.
        stack.push(lambda exc_type, *_: sink.abort() if exc_type is not None else None)
        explainer, explain_sink = open_explain(cfg, info, encode, live, stack)
        deblurrer = model_step(cfg, backend, timer, mem.tile)
        total = progress_total(info, cfg, rng)
        progress = (lambda n: on_progress(n, total)) if on_progress is not None else None  # noqa: E731
        enough = lambda: ((cfg.max_frames is not None and flow.counts["decoded"] >= cfg.max_frames)  # noqa: E731
                          or deadline.passed())
        policy = Policy.of(cfg, live, mem.queue_size, codec_idle(cfg, backend.device, live))
        stages = build_stages(cfg, flow, timer, source, deblurrer, sink, policy, enough, preview, progress,
                              explainer, explain_sink)
        t_start = time.perf_counter()
        try:
            run_threads(stages, flow, policy, deadline=deadline.at)
        except KeyboardInterrupt:
            if not policy.salvage_on_second_stop:
                raise
            # A second Ctrl-C in live mode: quit now, but keep what the container already holds (the
            # frames still inside the encoder are lost).
            kept = sink.salvage()
            raise Interrupted(received[0] if received else signal.SIGINT, dest, kept, twice=True) from None
        wall = time.perf_counter() - t_start
        raise_stage_error(flow, dest)
        if flow.counts["written"] == 0:
            raise nothing_written(cfg, source, received)
        if explain_sink is not None:
            explain_sink.close()
        sink.close()
    summary = run_summary(cfg, dest, backend, info, flow.counts, source, deblurrer, live, wall, timer, received)
    if rng is not None:
        summary["frames_warm"] = source.warm        # run before the range's start to warm the state, not written
    explained(cfg, summary, explainer)
    return outcome(cfg, dest, source, sink, flow, summary, policy, received, rng)


def memory_plan(cfg: RunConfig, info, backend):
    """(memory.plan_memory's plan, the encoder settings it implies) for these frames and this backend."""
    mem = plan_memory(info.height, info.width, backend, cfg)
    if mem.note:
        log.info(mem.note)
    encode = replace(cfg.encode, options=mem.encode_options + cfg.encode.options) if mem.encode_options else cfg.encode
    return mem, encode


def explained(cfg: RunConfig, summary: dict, explainer) -> None:
    """The explain data into the summary, and the --report picture from the frames kept during the run."""
    if explainer is None:
        return
    summary["explain"] = {"video": cfg.explain_path, **explainer.summary()}
    if cfg.report_path:
        from .figures import write_report

        write_report(summary, cfg.report_path, kept=explainer.kept)


def open_model(cfg: RunConfig, info, flow: Flow, dest):
    """The backend for cfg.model; a stop signal meanwhile (load, export, quantization, probe) ends the run at
    once: there is nothing to finish."""
    flow.interrupt_now = True
    try:
        return open_backend(cfg.model, log=log.info, size=(info.height, info.width))
    except SetupStopped as e:
        raise Interrupted(e.signum, dest, 0, note="while the model was being prepared (loading, export, "
                          "quantization or the backend probe); nothing written") from None
    finally:
        flow.interrupt_now = False


def build_stages(cfg: RunConfig, flow: Flow, timer: StageTimes, source, deblurrer, sink, policy: Policy, enough,
                 preview, progress, explainer, explain_sink) -> list:
    """decode -> model step -> encode, joined by bounded queues (the policy says whether the decode queue
    keeps the newest frames or makes decode wait)."""
    frames = queue.Queue(maxsize=policy.decode_queue)
    done, packets = queue.Queue(maxsize=policy.encode_queue), queue.Queue()
    idle = policy.codec_idle
    return [DecodeStage(source, flow, timer, frames, packets, drop_oldest=policy.drop_oldest,
                        scene_cut=cfg.scene_cut, idle=idle, enough=enough),
            InferStage(deblurrer, flow, frames, done, compare=cfg.compare,
                       explainer=explainer, time_base=source.info.time_base),
            EncodeStage(sink, flow, timer, done, packets, idle=idle, preview=preview, on_progress=progress,
                        latency=LatencyLog(cfg.stats_interval_s, flow, source), explain_sink=explain_sink)]


def open_explain(cfg: RunConfig, info, encode, live: bool, stack: ExitStack):
    """(Explainer or None, the explain view's sink or None) for --explain / --report; the sink is removed if
    the run fails."""
    explainer = explain_sink = None
    if cfg.explain_path or cfg.report_path:
        from .explain import Explainer

        explainer = Explainer(view=cfg.explain_path is not None)
    if cfg.explain_path:
        explain_sink = open_sink(check_output(cfg.input, cfg.explain_path, cfg.overwrite), info, encode,
                                 2 * info.width, 2 * info.height, [], live=live, overwrite=cfg.overwrite)
        stack.push(lambda exc_type, *_: explain_sink.abort() if exc_type is not None else None)
    return explainer, explain_sink


def nothing_written(cfg: RunConfig, source, received: list) -> InputError:
    return InputError(f"no video frames in {mask_url(cfg.input)}"
                      + (f" ({source.error_detail})" if source.decode_errors else "")
                      + ("; nothing written" if not received else "; stopped before the first frame"))


def raise_stage_error(flow: Flow, dest) -> None:
    """A stage's error as the run's: ours as they are, a reader gone from a pipe as OutputClosed, the rest
    as one line naming it."""
    err = flow.error
    if err is None:
        return
    if isinstance(err, VdeblurError):
        raise err
    if isinstance(err, BrokenPipeError):
        raise OutputClosed(f"the reader of {dest} went away after {flow.counts['written']} frames; "
                           f"stopped (what it read is complete)") from None
    raise VdeblurError(f"processing failed: {type(err).__name__}: {err}") from err


def outcome(cfg: RunConfig, dest, source, sink, flow: Flow, summary: dict, policy: Policy, received: list,
            rng: TimeRange | None) -> dict:
    """The end of a run: completeness and damage into the summary (written to --json), then the summary,
    or Interrupted / DamagedInput carrying it."""
    short = (None if not policy.check_complete or received or cfg.max_frames or rng is not None
             else source.shortfall(flow.counts["decoded"]))
    remux_lost = getattr(sink, "packets_dropped", 0)
    summary.update(input_complete=short is None, packets_dropped=remux_lost)
    write_summary(cfg.json_path, summary)
    if received:
        raise Interrupted(received[0], dest, flow.counts["written"], summary)
    if not policy.damage_fails:
        # A stream loses packets as a matter of course: counted and said, not a failed run.
        if source.decode_errors:
            log.warning(f"warning: {source.decode_errors} damaged or undecodable packet(s) from the stream"
                        + (f" ({source.error_detail})" if source.error_detail else ""))
        return summary
    if source.decode_errors or short or remux_lost:
        damage = [f"{source.decode_errors} packet(s) damaged or undecodable"
                  + (f" ({source.error_detail})" if source.error_detail else "") if source.decode_errors else "",
                  f"input is short: {short}" if short else "",
                  f"{remux_lost} audio/subtitle packet(s) with broken timestamps left out" if remux_lost else ""]
        raise DamagedInput(f"damaged input: {'; '.join(d for d in damage if d)}; the {flow.counts['written']} frames "
                           f"that decoded were all written to {dest}", summary)
    return summary
