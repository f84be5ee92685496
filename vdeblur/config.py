"""Configuration as frozen dataclasses, built by the CLI or the Python API."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Backend(str, enum.Enum):
    """The built-in backends (names in vdeblur.backends' registry; ModelConfig.backend takes any
    registered name)."""

    AUTO = "auto"
    TORCH = "torch"
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"
    TENSORRT = "tensorrt"


class Precision(str, enum.Enum):
    AUTO = "auto"       # fp16 on a GPU; on the CPU int8 for weights whose int8 quality was validated, else fp32
    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"       # CPU backends: static QDQ quantization (vdeblur/backends/quantize.py)


@dataclass(frozen=True)
class ShapeProfile:
    """TensorRT optimisation profile over frame sizes (width, height), each a multiple of the stride."""

    min: tuple[int, int] = (320, 184)
    opt: tuple[int, int] = (1920, 1080)
    max: tuple[int, int] = (3840, 2160)

    @staticmethod
    def parse(size: str, stride: int = 8) -> tuple[int, int]:   # 8: DeblurNet.stride (config imports no torch)
        """'1920x1080' -> (1920, 1080) as (width, height) like TensorRT's profile shapes, rounded up to the
        stride as the pipeline pads."""
        from .geometry import FrameGeometry

        ph, pw = FrameGeometry.parse(size, stride).padded
        return pw, ph

    def check(self) -> None:
        for i, axis in enumerate(("width", "height")):
            if not self.min[i] <= self.opt[i] <= self.max[i]:
                raise ValueError(f"profile {axis}s must satisfy min <= opt <= max, got "
                                 f"{self.min[i]} / {self.opt[i]} / {self.max[i]}")

    def covers(self, w: int, h: int) -> bool:
        return self.min[0] <= w <= self.max[0] and self.min[1] <= h <= self.max[1]

    def __str__(self) -> str:
        f = lambda s: f"{s[0]}x{s[1]}"  # noqa: E731
        return f"{f(self.min)}:{f(self.opt)}:{f(self.max)}"


@dataclass(frozen=True)
class ModelConfig:
    """Which network: a shipped preset name ("small", "base", "sharp") or a path to a .safetensors file."""

    spec: str = "small"
    backend: str = "auto"          # a registered backend name (vdeblur.backends.backend_names()) or auto
    device: str = "auto"            # torch device for the torch backend: auto, cpu, cuda, cuda:1
    precision: Precision = Precision.AUTO
    threads: int = 0                # CPU threads for inference; 0 = library default
    trt_profile: ShapeProfile = ShapeProfile()  # frame sizes a TensorRT engine is built for
    calibration: str | None = None  # int8: a video or folder of videos to calibrate on (None: the shipped clips)


@dataclass(frozen=True)
class EncodeConfig:
    """The video encoder. crf/preset apply to the encoders in sinks.encode.CRF_RANGE / PRESETS (None: their
    default, crf 12 and preset veryfast for x264/x265); options: any encoder's own AVOptions, as key/value
    pairs (`--codec-opt key=value`), validated against the encoder before any work starts."""

    codec: str = "libx264"
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None      # None: yuv420p, or a 4:4:4 format for odd frame sizes (sinks.video)
    options: tuple[tuple[str, str], ...] = ()
    container: str | None = None    # -f: the output's container format (None: from the extension; nut on a
                                    # pipe); yuv4mpegpipe and rawvideo write raw frames


@dataclass(frozen=True)
class RunConfig:
    input: str
    output: str
    overwrite: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)
    compare: bool = False           # write input | output side by side
    scene_cut: bool = True          # reset the recurrent state at scene cuts (vdeblur/scenecut.py)
    quality: str = "normal"         # high: files only, three passes averaged (vdeblur/ensemble.py), ~3.4x slower
    json_path: str | None = None
    explain_path: str | None = None  # a video of input | output | correction heat map | blur map (explain.py)
    report_path: str | None = None   # a PNG: blur and correction over time, the most corrected frames
    progress: bool = False          # progress bar on stderr (the CLI turns it on for a terminal)
    queue_size: int = 8             # frames held between two stages (bounded: backpressure); fewer for big
                                    # frames when max_memory_mb asks (vdeblur/memory.py)
    tile: int | None = None         # run frames as tiles of at most N px with their own states; None: automatic
    max_memory_mb: int | None = 3072  # memory budget: frames that would exceed it are tiled (None: no limit)
    codec_idle: bool | None = None  # decode/encode threads at idle priority; None: automatic (pipeline.codec_idle)
    # Live sources (streams, cameras)
    live: bool | None = None        # None: decide from the input (URL scheme / capture device)
    input_format: str | None = None  # e.g. v4l2, or rawvideo / yuv4mpegpipe on a pipe
    input_options: tuple[tuple[str, str], ...] = ()   # the demuxer's options (rawvideo: video_size, ...)
    reconnect_max: int | None = None  # attempts per outage; None: unbounded (live), 0: never
    max_frames: int | None = None
    duration_s: float | None = None  # files: media time (as span_s); live sources: wall time
    start_s: float | None = None    # -ss: first frame at or after this media time (s from the stream's start)
    span_s: float | None = None     # -t: this much media time from start_s
    end_s: float | None = None      # -to: up to this media time
    copyts: bool = False            # keep the input's timestamps in a time range (default: from 0)
    stats_interval_s: float | None = None
    preview: bool = False
    live_queue: int = 2             # frames waiting for inference in live mode (oldest dropped beyond)


@dataclass(frozen=True)
class BatchConfig:
    """`vdeblur batch`: many files (and long files in chunks) over Ray workers (vdeblur/batch/)."""

    inputs: tuple[str, ...]
    output_dir: str
    overwrite: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)
    scene_cut: bool = True
    quality: str = "normal"         # high: three passes averaged (vdeblur/ensemble.py), as `vdeblur run`
    tile: int | None = None
    max_memory_mb: int | None = 3072
    ext: str = ".mp4"               # the outputs' container: OUTDIR/<input name><ext>
    ray: str = "auto"               # auto: a running cluster (RAY_ADDRESS or a local head) else a local one;
                                    # local: always a new local one; else a cluster address (ray://host:10001)
    chunk_s: float | None = 60.0    # long files are cut at keyframes about this often (None: never)
    warmup: int | None = None       # frames before each chunk; None: twice the weights' state memory
    workers: int | None = None      # None: one per GPU with gpus_per_worker, else one per 2 CPUs
    gpus_per_worker: float = 0.0
    cpus_per_worker: float | None = None   # None: the cluster's CPUs / workers
    retries: int = 3                # a dead worker is restarted and its chunk run again, this many times
    json_path: str | None = None
