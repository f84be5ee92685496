"""ONNX Runtime backend (CPU by default): IO binding onto preallocated buffers, state ping-pong.

Buffer ownership: the backend owns two host buffers per state tensor (A, B) and one output frame
buffer. step() binds the window and state A as inputs and state B and the frame as outputs, runs, and
swaps A and B; the returned frame and state are views of those buffers, valid until the next step.
"""
from __future__ import annotations


import numpy as np
import onnxruntime as ort

from ..config import ModelConfig, Precision
from ..errors import BackendError
from .base import NetBackend, StateBuffers, cpu_precision, cpu_threads
from .exported import exported_step
from .quantize import cached_int8
from .step import ExportedStep


class OrtBackend(NetBackend):
    name = "onnxruntime"

    def __init__(self, step: ExportedStep, threads: int = 0, onnx_path=None, spin: bool = False,
                 precision: Precision = Precision.FP32, calibration=None):
        """step: the exported step (step.exported_step); precision: fp32, int8, or auto (int8 where the
        weights' info records a validated int8 quality); onnx_path: run this file of the step instead."""
        precision = cpu_precision(precision, step.info, self.name)
        self._adopt_spec(step.spec, precision, step.info)
        self._state = StateBuffers(lambda shape, i: np.zeros(shape, dtype=np.float32))
        if onnx_path is None:
            onnx_path = cached_int8(step, calibration) if precision == Precision.INT8 else step.onnx
        path = onnx_path
        so = ort.SessionOptions()
        so.intra_op_num_threads = cpu_threads(threads)
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spin:
            # Workers sleep between operators instead of spinning, so decode and encode threads can use
            # those gaps: the 2-core pipeline runs 1.1x faster, model-only ~4 % slower
            # (benchmarks/codec_priority.py).
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise BackendError(f"onnxruntime cannot load {path}: {e}") from None
        self.inputs, self.outputs = step.spec.inputs, step.spec.outputs
        self.binding = self.session.io_binding()
        self._frame: np.ndarray | None = None

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> "OrtBackend":
        return cls(exported_step(cfg.spec), cfg.threads, precision=cfg.precision, calibration=cfg.calibration)

    def init_state(self, h: int, w: int, slot: int = 0):
        if self._frame is None or self._frame.shape[-2:] != (h, w):
            self._frame = np.zeros((1, 3, h, w), dtype=np.float32)
        return self._state.reset(self.spec.state_shapes(1, h, w), slot)

    def _bind_out(self, name: str, a: np.ndarray) -> None:
        self.binding.bind_output(name, "cpu", 0, np.float32, list(a.shape), a.ctypes.data)

    def step(self, window: np.ndarray, state):
        outs = self._state.outputs_for(state)
        b = self.binding
        b.bind_cpu_input("window", np.ascontiguousarray(window, dtype=np.float32))
        for name, a in zip(self.state_names, state):
            b.bind_cpu_input(name, np.ascontiguousarray(a, dtype=np.float32))
        self._bind_out("frame", self._frame)
        for name, a in zip(self.outputs[1:], outs):
            self._bind_out(name, a)
        self.session.run_with_iobinding(b)
        return self._frame, tuple(outs)

    def close(self) -> None:
        self.session = None
