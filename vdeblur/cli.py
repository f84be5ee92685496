"""Command line: `vdeblur run INPUT -o OUTPUT`, `vdeblur batch INPUT... -o OUTDIR`, `vdeblur bench`, `vdeblur export`, `vdeblur build-engine`.

Errors a user can cause (bad input, bad output path, bad weights) end in one line on stderr and a
non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .backends.base import backend_names
from .config import EncodeConfig, ModelConfig, Precision, RunConfig, ShapeProfile
from .errors import InputError, OutputError, VdeblurError
from .urls import mask_text

log = logging.getLogger("vdeblur")


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, where it has a meaningful one."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        if (d is not None and not isinstance(d, (bool, list)) and d is not argparse.SUPPRESS
                and action.option_strings and "default" not in text):
            text += " (default: %(default)s)"
        return text


class MaskSecrets(logging.Filter):
    """Every log line leaves with its URLs' secrets masked, whoever wrote it (FFmpeg text included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_text(record.getMessage()), None
        return True


class Parser(argparse.ArgumentParser):
    """Usage mistakes end in one line too (and exit 2), pointing at --help instead of printing the usage."""

    def error(self, message: str):
        self.exit(2, f"vdeblur: error: {message} (see {self.prog} --help)\n")


def _codec_opt(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    return key, val


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="small", help="shipped preset (small, base, sharp) or a .safetensors path")
    p.add_argument("--backend", default="auto", choices=["auto", *backend_names()],
                   help="inference backend; auto: TensorRT (or torch) on an NVIDIA GPU; on a CPU the fastest "
                        "installed backend and precision, measured once for the model and frame size and cached")
    p.add_argument("--device", default="auto", help="torch device for --backend torch (cpu, cuda, cuda:1)")
    p.add_argument("--precision", default="auto", choices=[p.value for p in Precision],
                   help="auto: fp16 on a GPU; on the CPU int8 where the weights' card records a validated int8 "
                        "quality (the shipped presets), else fp32")
    p.add_argument("--calibrate", metavar="VIDEO|DIR", help="int8: calibrate on these clips (default: the "
                   "shipped calibration clips)")
    p.add_argument("--threads", type=int, default=0, help="CPU inference threads (0: all available cores)")
    _add_profile_args(p)


def _input_options(a) -> tuple[tuple[str, str], ...]:
    """-s, -pix_fmt and -r as the raw demuxer's options."""
    names = (("video_size", a.input_size), ("pixel_format", a.input_pix_fmt), ("framerate", a.input_rate))
    return tuple((k, str(v)) for k, v in names if v is not None)


def _time(value: str) -> float:
    from .timerange import parse_time

    try:
        return parse_time(value)
    except VdeblurError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {n}")
    return n


def _memory(value: str) -> int | None:
    return None if value.lower() in ("none", "0", "off") else _positive(value)


def _add_memory_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("big frames")
    g.add_argument("--tile", type=_positive, metavar="N",
                   help="run frames as overlapping tiles of at most N px, each with its own recurrent state and "
                        "the network's receptive field as context (default: only when --max-memory needs it)")
    g.add_argument("--max-memory", type=_memory, default=RunConfig.max_memory_mb, metavar="MB",
                   help="memory budget: frames whose estimated peak exceeds it run as tiles, with fewer frames "
                        "queued (off: no limit)")


def _add_profile_args(p: argparse.ArgumentParser) -> None:
    d = ShapeProfile()
    g = p.add_argument_group("TensorRT engine profile (frame sizes the engine accepts)")
    g.add_argument("--min", dest="trt_min", default=f"{d.min[0]}x{d.min[1]}", metavar="WxH",
                   help="the smallest frame size the engine accepts")
    g.add_argument("--opt", dest="trt_opt", default=f"{d.opt[0]}x{d.opt[1]}", metavar="WxH",
                   help="the size TensorRT tunes kernels for")
    g.add_argument("--max", dest="trt_max", default=f"{d.max[0]}x{d.max[1]}", metavar="WxH",
                   help="the largest frame size the engine accepts")


def _profile(a) -> ShapeProfile:
    try:
        prof = ShapeProfile(*(ShapeProfile.parse(v) for v in (a.trt_min, a.trt_opt, a.trt_max)))
        prof.check()
    except ValueError as e:
        raise VdeblurError(f"TensorRT profile: {e}") from None
    return prof


def _model_config(a) -> ModelConfig:
    return ModelConfig(spec=a.model, backend=a.backend, device=a.device,
                       precision=Precision(a.precision), threads=a.threads, trt_profile=_profile(a),
                       calibration=a.calibrate)


def _add_encode_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("encoder (checked before any work starts)")
    g.add_argument("--codec", default="libx264", help="video encoder (any FFmpeg encoder: libx265, libvpx-vp9, "
                   "ffv1, ...)")
    g.add_argument("--crf", type=int, help="constant quality for x264/x265 (0-51, default 12: keeps what the network "
                   "adds, about 2x the bytes of 18), VP9/AV1 (0-63); lower is better")
    g.add_argument("--preset", help="x264/x265 speed preset, ultrafast ... veryslow (default veryfast: the encoder then "
                   "keeps up with the network on a 2-core CPU; medium makes smaller files at about 0.8x the speed)")
    g.add_argument("--pix-fmt", help="pixel format (default yuv420p; a 4:4:4 format for odd frame sizes)")
    g.add_argument("--codec-opt", action="append", type=_codec_opt, default=[], metavar="KEY=VALUE",
                   help="an encoder option, repeatable (e.g. --codec-opt b=8M --codec-opt g=50)")


def _encode_config(a) -> EncodeConfig:
    options = tuple(a.codec_opt)
    if getattr(a, "quiet", False) and a.codec == "libx265" and "x265-params" not in dict(options):
        options += (("x265-params", "log-level=none"),)     # x265 prints its own log, past FFmpeg's
    return EncodeConfig(codec=a.codec, crf=a.crf, preset=a.preset, pix_fmt=a.pix_fmt, options=options,
                        container=getattr(a, "container", None))


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(prog="vdeblur", description="Real-time video motion deblurring.",
                                 formatter_class=HelpFormatter)
    ap.add_argument("--version", action="version", version=f"vdeblur {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    _parser_run(sub)
    _parser_gst_env(sub)
    _parser_batch(sub)
    _parser_bench(sub)
    _parser_export(sub)
    _parser_explain(sub)
    _parser_build_engine(sub)
    return ap


def _parser_run(sub) -> None:
    run = sub.add_parser("run", help="deblur a video file", formatter_class=HelpFormatter,
                         description="Deblur INPUT into OUTPUT. Exit codes: 0 done; 2 bad input, output or "
                                     "options (nothing written); 3 damaged or truncated input (every frame "
                                     "that decoded was written); 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP "
                                     "(what was processed is a playable file).")
    run.add_argument("input", help="video file (anything FFmpeg opens), an image sequence (frames/%%06d.png), or "
                     "- / pipe: for standard input")
    run.add_argument("-o", "--output", required=True, help="output file, its extension picks the container; - or "
                     "pipe: writes standard output (nut unless -f says otherwise)")
    run.add_argument("-f", dest="container", metavar="FORMAT",
                     help="the output's container (nut, matroska, mpegts, yuv4mpegpipe, rawvideo, mp4, ...); by "
                          "default the extension's, nut on a pipe")
    run.add_argument("-y", "--overwrite", action="store_true", help="overwrite an existing OUTPUT")
    tr = run.add_argument_group("time range (media time, frame-accurate, as FFmpeg's input options)")
    tr.add_argument("-ss", dest="start", type=_time, metavar="TIME",
                    help="start at the first frame at or after TIME (seconds or [HH:]MM:SS[.frac]); the frames "
                         "before it warm the network's state and are not written")
    tr.add_argument("-t", dest="span", type=_time, metavar="DURATION", help="write DURATION of media time")
    tr.add_argument("-to", dest="end", type=_time, metavar="TIME", help="stop before TIME")
    tr.add_argument("--copyts", action="store_true", help="keep the input's timestamps (default: from 0)")
    _add_model_args(run)
    _add_encode_args(run)
    run.add_argument("--compare", action="store_true", help="write input | output side by side")
    run.add_argument("--no-scene-cut", dest="scene_cut", action="store_false",
                     help="never reset the recurrent state at detected scene cuts")
    _add_quality_arg(run)
    run.add_argument("--json", dest="json_path", help="write a run summary (frames, fps, per-stage timing)")
    ex = run.add_argument_group("explain (what the network did)")
    ex.add_argument("--explain", dest="explain_path", metavar="VIDEO",
                    help="also write a video, frame for frame with OUTPUT: input | output over a heat map of the "
                         "correction |output - input| | a per-region map of the estimated blur; per-frame blur (px) "
                         "and correction go into the --json summary")
    ex.add_argument("--report", dest="report_path", metavar="PNG",
                    help="a picture of blur and correction over time, the scene cuts and the most corrected frames")
    _add_memory_args(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar, warnings only")
    lv = run.add_argument_group("live sources (streams, cameras)")
    lv.add_argument("--live", dest="live", action="store_true", default=None,
                    help="treat the input as live: keep the newest frames, reconnect (default for rtsp/rtmp/"
                         "udp/srt URLs and capture devices)")
    lv.add_argument("--no-live", dest="live", action="store_false", help="never drop frames, never reconnect")
    lv.add_argument("--input-format", help="FFmpeg input format: v4l2 for /dev/video0, rawvideo or yuv4mpegpipe "
                    "on a pipe, ...")
    lv.add_argument("-s", dest="input_size", metavar="WxH", help="raw input: the frame size")
    lv.add_argument("-pix_fmt", dest="input_pix_fmt", metavar="FMT", help="raw input: the pixel format "
                    "(default yuv420p)")
    lv.add_argument("-r", "--fps", dest="input_rate", metavar="RATE",
                    help="raw input or an image sequence: the frame rate (default 25; an image sequence with "
                         "vdeblur's timestamps.csv beside it keeps those timestamps)")
    lv.add_argument("--reconnect-max", type=int, default=None,
                    help="connection attempts per outage (default: unbounded for live sources; 0: never)")
    lv.add_argument("--max-frames", type=int, help="stop cleanly after this many input frames")
    lv.add_argument("--duration", type=float, help="files: like -t (media time); live sources: stop cleanly "
                    "after this many seconds of wall time")
    lv.add_argument("--stats-interval", type=float, help="log frames in/out/dropped and latency every S seconds")
    lv.add_argument("--preview", action="store_true", help="show the output in a window")



def _parser_gst_env(sub) -> None:
    sub.add_parser("gst-env", help="print what GStreamer needs to find the vdeblur element (eval \"$(vdeblur "
                   "gst-env)\")", formatter_class=HelpFormatter,
                   description="Print shell lines (GST_PLUGIN_PATH, PYTHONPATH) with which gst-launch-1.0, "
                               "gst-inspect-1.0 and your applications find the `vdeblur` element of this "
                               "installation; says in one line what is missing when the system lacks "
                               "GStreamer's Python plugin loader. Use: eval \"$(vdeblur gst-env)\"")



def _parser_batch(sub) -> None:
    bt = sub.add_parser("batch", help="deblur many files (long ones in chunks) over Ray workers",
                        formatter_class=HelpFormatter,
                        description="Deblur every INPUT (files, or folders of video files) into OUTDIR/<name><ext>, "
                                    "spread over Ray actors that each hold one backend; a long file is cut at "
                                    "keyframes into chunks that run in parallel and are joined without re-encoding "
                                    "(every frame keeps its pts; audio and subtitles are remuxed once). Finished "
                                    "chunks are kept in OUTDIR/.vdeblur-batch: the same command run again goes on "
                                    "where it stopped. Needs the extra: pip install 'vdeblur[ray]'. Exit codes: 0 "
                                    "done; 2 bad input, output or options (nothing started); 3 some file failed "
                                    "(the others are done); 130 interrupted (finished chunks kept).")
    bt.add_argument("inputs", nargs="+", metavar="INPUT", help="video files or folders of them (on every node: "
                    "a shared filesystem, or URLs)")
    bt.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="folder for the outputs")
    bt.add_argument("-y", "--overwrite", action="store_true", help="replace outputs that exist")
    bt.add_argument("--ext", default=".mp4", help="the outputs' container, by extension")
    bt.add_argument("--ray", default="auto", metavar="auto|local|ADDRESS",
                    help="auto: the running cluster (RAY_ADDRESS, or a head started on this machine) else a local "
                         "Ray; local: a new local Ray; else the address of a cluster (`ray start --head` elsewhere)")
    bt.add_argument("--chunk-s", type=float, default=60.0, help="cut files longer than 1.5x this into chunks of "
                    "about this many seconds, at keyframes (0: never cut)")
    bt.add_argument("--warmup", type=int, help="frames each chunk runs through the network before its first frame, "
                    "outputs discarded (default: twice the state memory measured for the weights)")
    bt.add_argument("--workers", type=_positive, help="Ray actors (default: one per GPU with --gpus-per-worker, "
                    "else one per 2 CPUs of the cluster)")
    bt.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per actor (0.5: two per GPU)")
    bt.add_argument("--cpus-per-worker", type=float, help="CPUs per actor (default: the cluster's CPUs / workers)")
    bt.add_argument("--retries", type=int, default=3, help="a worker that dies is restarted and its chunk run "
                    "again up to this many times")
    _add_model_args(bt)
    _add_encode_args(bt)
    bt.add_argument("--no-scene-cut", dest="scene_cut", action="store_false",
                    help="never reset the recurrent state at detected scene cuts")
    _add_quality_arg(bt)
    _add_memory_args(bt)
    bt.add_argument("--json", dest="json_path", help="write a summary: per file, per worker, totals")
    bt.add_argument("--quiet", action="store_true", help="no progress bar, warnings only")



def _add_quality_arg(p) -> None:
    p.add_argument("--quality", choices=["normal", "high"], default="normal",
                   help="high (files): each frame deblurred forward, mirrored and backward in time, the three "
                        "averaged; about 3x the time, better on every kind of blur measured")


def _parser_bench(sub) -> None:
    b = sub.add_parser("bench", help="measure fps and per-stage latency (trtexec conventions)",
                       formatter_class=HelpFormatter)
    b.add_argument("input", nargs="?", help="video file to run through the pipeline (default: synthetic clip)")
    b.add_argument("--synthetic", default=None, metavar="WxH", help="synthetic clip size (default 640x360)")
    _add_model_args(b)
    b.add_argument("--frames", type=int, help="frames of the synthetic clip (default 300); with a live INPUT "
                   "(a stream URL or a camera) the frames to measure, which it needs")
    b.add_argument("--warmup-s", type=float, default=0.5, help="backend warm-up time before measuring")
    b.add_argument("--matrix", nargs="+", metavar="KEY=V1,V2",
                   help="run every combination, e.g. backend=onnxruntime,torch size=640x360,1280x720")
    _add_encode_args(b)
    b.add_argument("--json", dest="json_path", help="write every figure and the hardware as JSON")
    b.add_argument("--plot", help="PNG of latency per stage and fps per configuration (matplotlib)")
    b.add_argument("--quiet", action="store_true", help="warnings only")



def _parser_export(sub) -> None:
    exp = sub.add_parser("export", help="export one recurrent step to ONNX", formatter_class=HelpFormatter)
    exp.add_argument("--model", default="small", help="shipped preset (small, base, sharp) or a .safetensors path")
    exp.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    exp.add_argument("-y", "--overwrite", action="store_true", help="overwrite an existing OUTPUT")
    exp.add_argument("--precision", default="fp32", choices=["fp32", "int8"],
                     help="int8: statically quantized (QDQ) for ONNX Runtime / OpenVINO on the CPU")
    exp.add_argument("--calibrate", metavar="VIDEO|DIR", help="int8: calibrate on these clips (default: the "
                     "shipped calibration clips, rendered from training photos)")



def _parser_explain(sub) -> None:
    xp = sub.add_parser("explain", help="draw the report of a run from its --json summary (made with --explain "
                        "or --report)", formatter_class=HelpFormatter)
    xp.add_argument("summary", help="the run's --json file")
    xp.add_argument("-o", "--output", required=True, help="the PNG to write")
    xp.add_argument("--quiet", action="store_true", help="warnings only")



def _parser_build_engine(sub) -> None:
    be = sub.add_parser("build-engine", help="build (or validate) the cached TensorRT engine for a model",
                        formatter_class=HelpFormatter, description="Build the TensorRT engine for one recurrent step and keep it in the "
                                    "engine cache (engines/ or $VDEBLUR_ENGINES), keyed by ONNX hash, precision, "
                                    "profile, TensorRT version and GPU. `vdeblur run --backend tensorrt` with "
                                    "the same --precision/--min/--opt/--max then starts at once.")
    be.add_argument("--model", default="base", help="shipped preset (small, base, sharp) or a .safetensors path")
    be.add_argument("--precision", default="fp16", choices=["fp16", "fp32"], help="engine precision")
    _add_profile_args(be)



def _run(a) -> int:
    from .pipeline import run_file

    cfg = RunConfig(
        input=a.input, output=a.output, overwrite=a.overwrite,
        model=_model_config(a), encode=_encode_config(a),
        compare=a.compare, scene_cut=a.scene_cut, quality=a.quality, json_path=a.json_path,
        progress=not a.quiet and sys.stderr.isatty(), live=a.live, input_format=a.input_format,
        reconnect_max=a.reconnect_max, max_frames=a.max_frames, duration_s=a.duration,
        stats_interval_s=a.stats_interval, preview=a.preview, tile=a.tile,
        max_memory_mb=a.max_memory, explain_path=a.explain_path, report_path=a.report_path,
        start_s=a.start, span_s=a.span, end_s=a.end, copyts=a.copyts, input_options=_input_options(a))
    bar = None

    def on_progress(n: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="frame", dynamic_ncols=True, leave=True)
        if total is not None and n > total:
            bar.total = n       # the container under-announced: never show more than 100 %
        bar.update(n - bar.n)

    try:
        with _logs_above_bar(cfg.progress):
            summary = run_file(cfg, on_progress if cfg.progress else None)
    finally:
        if bar is not None:
            bar.close()
    log.info(f"{summary['frames_out']} frames ({summary['width']}x{summary['height']}) in "
             f"{summary['wall_s']:.1f} s: {summary['fps']:.1f} fps, {summary['backend']} backend -> "
             f"{summary['output']}")
    if summary["live"]:
        lat = summary["stages_ms"]["end_to_end"]
        log.info(f"live: in {summary['frames_in']}, out {summary['frames_out']}, dropped {summary['frames_dropped']}, "
                 f"reconnects {summary['reconnects']}; latency ms p50 {lat.get('median', float('nan')):.0f} "
                 f"p95 {lat.get('p95', float('nan')):.0f} p99 {lat.get('p99', float('nan')):.0f}")
    return 0


def _gst_env(a) -> int:
    from .gst import main_env

    return main_env()


def _batch(a) -> int:
    from .batch.run import run_batch
    from .config import BatchConfig

    ext = a.ext if a.ext.startswith(".") else f".{a.ext}"
    cfg = BatchConfig(inputs=tuple(a.inputs), output_dir=a.output_dir, overwrite=a.overwrite,
                      model=_model_config(a), encode=_encode_config(a), scene_cut=a.scene_cut, tile=a.tile,
                      quality=a.quality,
                      max_memory_mb=a.max_memory, ext=ext, ray=a.ray, chunk_s=a.chunk_s or None,
                      warmup=a.warmup, workers=a.workers, gpus_per_worker=a.gpus_per_worker,
                      cpus_per_worker=a.cpus_per_worker, retries=a.retries, json_path=a.json_path)
    show = not a.quiet and sys.stderr.isatty()
    bar = None

    def on_progress(done: int, total: int, fps: float) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="frame", dynamic_ncols=True, leave=True)
        bar.update(done - bar.n)
        bar.set_postfix_str(f"{fps:.1f} fps overall")

    try:
        with _logs_above_bar(show):
            summary = run_batch(cfg, on_progress if show else None)
    finally:
        if bar is not None:
            bar.close()
    log.info(f"{summary['files_done']} file(s) done, {summary['files_skipped']} already done; "
             f"{summary['frames_run']} frames in {summary['wall_s']:.1f} s ({summary['fps']:.1f} fps, "
             f"{summary['files_per_min']:.2f} files/min) on {summary['workers']} worker(s) -> {cfg.output_dir}")
    return 0


def _logs_above_bar(active: bool):
    """While a progress bar is drawn, log lines are printed above it instead of through it."""
    from contextlib import nullcontext

    if not active:
        return nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm(loggers=[logging.getLogger()])


def _bench(a) -> int:
    from .bench import BenchConfig, parse_matrix, parse_size, plot, run_bench, save, table

    if a.input and a.synthetic:
        raise VdeblurError("give INPUT or --synthetic, not both")
    from .source import Source, is_live

    if a.frames is not None and a.frames < 1:
        raise VdeblurError("--frames must be at least 1")
    if a.input and is_live(a.input):
        if a.frames is None:
            raise VdeblurError("a live INPUT never ends by itself: give --frames N to say how many frames to measure")
    elif a.input:
        Source(a.input).close()   # a bad input fails here with its one-line error
    a.frames = a.frames or 300
    if a.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise VdeblurError("--plot needs matplotlib (pip install 'vdeblur[plot]')") from None
    bc = BenchConfig(
        input=a.input, size=parse_size(a.synthetic or "640x360"), frames=a.frames, warmup_s=a.warmup_s,
        model=_model_config(a), encode=_encode_config(a))
    matrix = parse_matrix(a.matrix) if a.matrix else None
    report, samples = run_bench(bc, matrix)
    save(report, a.json_path)
    if a.plot:
        plot(report, samples, a.plot)
    hw = report["hardware"]
    print(f"vdeblur bench on {hw.get('cpu', '?')}, {hw.get('cores_available', hw['cores'])} cores"
          + (f", {hw['gpu']}" if "gpu" in hw else "") + " (pipeline includes host<->device transfers; "
          "model-only does not)")
    print(table(report))
    return 0


def _export(a) -> int:
    out = Path(a.output)
    if out.is_dir():
        raise OutputError(f"output is a directory: {out}")
    if out.exists() and not a.overwrite:
        raise OutputError(f"output exists: {out} (use -y to overwrite)")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise OutputError(f"output directory does not exist: {out.parent}")
    from .backends.cache import atomic_write
    from .backends.exported import exported_step
    from .backends.step import write_spec

    step = exported_step(a.model)
    if a.precision == "int8":
        from .backends.quantize import cached_int8

        src = cached_int8(step, a.calibrate)
    else:
        src = step.onnx
    # Copied from the cache (exported or quantized there once) through a temporary beside OUTPUT: never
    # half-written; its StepSpec goes beside it, so the file runs as it is.
    atomic_write(out, src.read_bytes())
    write_spec(out, step.spec)
    log.info(f"wrote {out}")
    return 0


def _explain(a) -> int:
    import json

    from .figures import write_report

    from .paths import REPORT_SUFFIXES, Written, check_written

    check_written([a.summary], [Written("-o", a.output, REPORT_SUFFIXES)], overwrite=True)
    try:
        summary = json.loads(Path(a.summary).read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read the summary {a.summary}: {e}") from None
    if not isinstance(summary, dict):
        raise InputError(f"{a.summary} is not a vdeblur run summary with explain data (write one with vdeblur run "
                         f"... --json FILE --explain VIDEO or --report PNG)")
    write_report(summary, a.output)
    log.info(f"wrote {a.output}")
    return 0


def _build_engine(a) -> int:
    from .backends.trt_backend import TrtBackend
    from .model.loading import load_model

    net, info = load_model(a.model)
    backend = TrtBackend(net, Precision(a.precision), _profile(a), info)
    log.info(f"engine ready: {backend.engine_path} ({a.precision}, profile {backend.profile})")
    backend.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    quiet = getattr(a, "quiet", False)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s",
                        stream=sys.stderr)
    # On vdeblur's logger (its records, whichever handler prints them, the progress bar's included) and on
    # the console handlers (anything else that logs).
    for where in (logging.getLogger("vdeblur"), *logging.getLogger().handlers):
        if not any(isinstance(f, MaskSecrets) for f in where.filters):
            where.addFilter(MaskSecrets())
    try:
        return {"run": _run, "batch": _batch, "bench": _bench, "export": _export, "explain": _explain,
                "build-engine": _build_engine, "gst-env": _gst_env}[a.command](a)
    except VdeblurError as e:
        print(f"vdeblur: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("vdeblur: interrupted; nothing written at the output path", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except MemoryError:
        print("vdeblur: error: out of memory", file=sys.stderr)
        return 1
    except Exception as e:
        if os.environ.get("VDEBLUR_DEBUG"):
            raise
        print(f"vdeblur: error: {type(e).__name__}: {mask_text(str(e))} (set VDEBLUR_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 1


def entry() -> None:
    """The `vdeblur` command: main(), then exit. Where a live run left a thread blocked inside FFmpeg, the
    process ends at once (streams flushed; every output is already closed) instead of finalising the
    interpreter under that thread, which can crash it after the run's own message. A Ctrl-C that arrives
    after the run has ended (its outcome and message already given) ends the command with 130, quietly."""
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    live = sys.modules.get("vdeblur.live")
    if live is not None and live.blocked_threads_alive():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
