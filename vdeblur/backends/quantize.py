"""INT8 for the CPU: static (QDQ) quantization of the exported step, calibrated with the state carried.

What is quantized: the convolutions (per-channel int8 weights, uint8 activations), the ReLUs and the
residual additions between them, so quantized tensors flow from one convolution to the next without a
round trip to float (quantizing the convolutions alone ran only 1.17x fp32; with the additions, 1.9x).
What stays fp32, because it protects quality and costs little:
  - the output path: the head convolution, its pixel shuffle and the final `current + residual` (an 8-bit
    residual costs 4 dB on still clips);
  - the ConvLSTM's memory: the addition that writes `c` and everything elementwise in the cell, so the
    state carried from frame to frame (h0, c0, ... in and out) is always float32.
Calibration data: the shipped clips in vdeblur/model/calibration (rendered from training photos only), or a
user's folder of videos; the fp32 step runs over each clip with its state carried (ONNX Runtime, through the
Deblurrer, so windows are padded and filled as in a run), and every step's inputs (window and state) feed the
calibrator, so state ranges are those of a running stream. A caller may pass its own feeds instead.
On x86 CPUs without VNNI, uint8 x int8 products can saturate in ONNX Runtime's AVX2 kernels, so weights are
quantized to 7 bits there (reduce_range); the cache keys on that.
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .. import files
from ..errors import BackendError
from ..files import new_file_mode
from .cache import cache_dir, locked, record_digest, recorded
from .step import GRAPH_TAG, ExportedStep, StepSpec

log = logging.getLogger("vdeblur")

CALIBRATION_DIR = Path(__file__).resolve().parents[1] / "model" / "calibration"
QUANTIZED_OPS = ["Conv", "Add", "Relu"]
# Bumped when what is quantized (or how) changes, so cached int8 models are rebuilt.
QUANT_VERSION = 1


def cpu_has_vnni() -> bool:
    """True where int8 dot products do not saturate: x86 with AVX512-VNNI / AVX-VNNI / AMX, or any non-x86
    CPU (ARM's int8 kernels do not have the AVX2 saturation problem)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False    # unknown: the safe choice is reduce_range
    return any(f in flags for f in (" avx512_vnni", " avx_vnni", " amx_int8"))


def calibration_videos(source: str | Path | None = None) -> list[Path]:
    """The clips calibration runs over: the shipped ones, a folder of videos, or one video."""
    from ..source import VIDEO_SUFFIXES

    src = Path(source) if source is not None else CALIBRATION_DIR
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise BackendError(f"calibration source not found: {src}")
    videos = sorted(p for p in src.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not videos:
        raise BackendError(f"no videos to calibrate on in {src} (expected {', '.join(sorted(VIDEO_SUFFIXES))})")
    return videos


def _digest_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


class _PlainStep:
    """The fp32 step on a plain ONNX Runtime session, recording every step's inputs (Backend contract)."""

    device = "cpu"

    def __init__(self, onnx: Path, spec: StepSpec, feeds: list):
        import onnxruntime as ort

        self.spec, self.feeds = spec, feeds
        self.window, self.stride, self.margin = spec.window, spec.stride, spec.receptive_radius
        self.session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])

    def init_state(self, h: int, w: int, slot: int = 0):
        return tuple(np.zeros(s, np.float32) for s in self.spec.state_shapes(1, h, w))

    def step(self, window, state):
        feed = {"window": np.array(window), **{n: np.array(s) for n, s in zip(self.spec.state_names, state)}}
        self.feeds.append(feed)
        frame, *new = self.session.run(self.spec.outputs, feed)
        return frame, tuple(new)

    def close(self) -> None:
        self.session = None


def calibration_feeds(step: ExportedStep, videos: list[Path], max_frames: int = 24) -> list[dict[str, np.ndarray]]:
    """Every step's ONNX inputs {window, h0, c0, ...} (float32 arrays) while the fp32 step runs over each
    video from a zero state, at most max_frames frames per video, as the Deblurrer feeds an engine."""
    from ..deblurrer import Deblurrer
    from ..training.clips import read_video

    feeds: list[dict[str, np.ndarray]] = []
    deblur = Deblurrer(_PlainStep(step.onnx, step.spec, feeds), scene_cut=False)
    for path in videos:
        try:
            frames = read_video(path)
        except Exception as e:  # noqa: BLE001 - PyAV raises many types for unreadable input
            raise BackendError(f"cannot read calibration video {path}: {e}") from None
        deblur.reset()
        for rgb in frames[:max_frames]:
            deblur.process(np.ascontiguousarray(rgb))
    deblur.close()
    return feeds


def excluded_nodes(model) -> list[str]:
    """Nodes kept in fp32 (see the module docstring): the final `current + residual` add and its residual
    branch back to the head conv (inclusive), and the node writing each ConvLSTM memory output (c*_out)."""
    producer = {out: node for node in model.graph.node for out in node.output}
    final = producer["frame"]
    keep = [final.name]
    for inp in final.input:
        node, path = producer.get(inp), []
        while node is not None and node.op_type != "Conv":
            path.append(node.name)
            node = producer.get(node.input[0])
        if node is not None:            # this input is the residual branch: it ends at the head conv
            keep += [*path, node.name]
    keep += [producer[o.name].name for o in model.graph.output if o.name.startswith("c") and o.name.endswith("_out")]
    return keep


def quantize_onnx(fp32_path: Path, out_path: Path, feeds: list[dict[str, np.ndarray]],
                  reduce_range: bool) -> Path:
    """Write the int8 (QDQ) form of an exported step to out_path atomically."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = files.work_dir(out_path.parent, ".int8-")      # an interrupted run's is swept by the next
    try:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        exclude = excluded_nodes(onnx.load(str(pre)))
        q = Path(tmp) / "int8.onnx"
        quantize_static(str(pre), str(q), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=reduce_range, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, op_types_to_quantize=QUANTIZED_OPS,
                        nodes_to_exclude=exclude, calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"CalibTensorRangeSymmetric": False})
        onnx.checker.check_model(onnx.load(str(q)))
        os.chmod(q, new_file_mode())
        os.replace(q, out_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_path


def int8_path(step: ExportedStep, videos: list[Path], reduce_range: bool) -> Path:
    """Cache path of the int8 model: weights, graph, calibration clips, reduce_range and the quantizer's
    version all in the name."""
    import onnxruntime

    tag = f"int8q{QUANT_VERSION}-cal{_digest_files(videos)}{'-rr' if reduce_range else ''}-ort{onnxruntime.__version__}"
    return cache_dir() / "onnx" / f"deblurnet-{step.spec.digest}-{GRAPH_TAG}-{tag}.onnx"


def cached_int8(step: ExportedStep, calibration: str | Path | None = None, reduce_range: bool | None = None,
                feeds: Callable[[], list[dict[str, np.ndarray]]] | None = None) -> Path:
    """The int8 step for these weights, quantized once (a few seconds) and kept in the ONNX cache.

    feeds: the caller's calibration inputs (default: calibration_feeds over the calibration videos)."""
    videos = calibration_videos(calibration)
    rr = (not cpu_has_vnni()) if reduce_range is None else reduce_range
    path = int8_path(step, videos, rr)
    with locked(path.with_suffix(".lock")):
        if path.exists() and recorded(path):     # written and checked by quantize_onnx, digest recorded
            return path
        if path.exists():
            log.warning(f"warning: cached {path} is damaged or does not match its recorded digest; quantizing again")
        log.info(f"note: quantizing to int8 once for this model and calibration (calibration: {len(videos)} clips"
                 f"{', 7-bit weights: no VNNI' if rr else ''}; tens of seconds on a small CPU; cached afterwards)")
        data = feeds() if feeds is not None else calibration_feeds(step, videos)
        quantize_onnx(step.onnx, path, data, rr)
        record_digest(path)
    return path
