"""Configuration as frozen dataclasses, built by the CLI or the Python API."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Backend(str, enum.Enum):
    AUTO = "auto"
    TORCH = "torch"
    ONNXRUNTIME = "onnxruntime"
    TENSORRT = "tensorrt"


class Precision(str, enum.Enum):
    FP32 = "fp32"
    FP16 = "fp16"


@dataclass(frozen=True)
class ModelConfig:
    """Which network: a shipped preset name ("small", "base") or a path to a .safetensors file."""

    spec: str = "small"
    backend: Backend = Backend.AUTO
    device: str = "auto"            # torch device for the torch backend: auto, cpu, cuda, cuda:1
    precision: Precision = Precision.FP32
    threads: int = 0                # CPU threads for inference; 0 = library default


@dataclass(frozen=True)
class EncodeConfig:
    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str | None = None      # None: yuv420p (8-bit) or the 10-bit equivalent for 10-bit codecs
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunConfig:
    input: str
    output: str
    overwrite: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)
    compare: bool = False           # write input | output side by side
    json_path: str | None = None
    quiet: bool = False
    progress: bool = True
    queue_size: int = 8             # frames held between two stages (bounded: backpressure)
    codec_idle: bool | None = None  # decode/encode threads at idle priority; None: automatic (pipeline.codec_idle)
    # Live sources (streams, cameras)
    live: bool | None = None        # None: decide from the input (URL scheme / capture device)
    input_format: str | None = None  # e.g. v4l2
    reconnect_max: int | None = None  # attempts per outage; None: unbounded (live), 0: never
    max_frames: int | None = None
    duration_s: float | None = None
    stats_interval_s: float | None = None
    throttle_ms: float = 0.0        # test hook: extra time per inference step, to simulate a slow model
    preview: bool = False
    live_queue: int = 2             # frames waiting for inference in live mode (oldest dropped beyond)
