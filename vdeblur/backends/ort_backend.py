"""ONNX Runtime backend (CPU by default): IO binding onto preallocated buffers, state ping-pong.

Buffer ownership: the backend owns two host buffers per state tensor (A, B) and one output frame
buffer. step() binds the window and state A as inputs and state B and the frame as outputs, runs, and
swaps A and B; the returned frame and state are views of those buffers, valid until the next step.
"""
from __future__ import annotations


import numpy as np
import onnxruntime as ort
import torch

from ..config import ModelConfig, Precision
from ..errors import BackendError
from ..model.loading import load_model
from ..model.net import DeblurNet
from .base import NetBackend, StateBuffers, cpu_precision, cpu_threads
from .onnx_export import cached_onnx, io_names
from .quantize import cached_int8


class OrtBackend(NetBackend):
    name = "onnxruntime"

    def __init__(self, net: DeblurNet, threads: int = 0, info: dict | None = None, onnx_path=None,
                 spin: bool = False, precision: Precision = Precision.FP32, calibration=None):
        """precision: fp32, int8, or auto (int8 where `info` records a validated int8 quality)."""
        precision = cpu_precision(precision, info, self.name)
        self._adopt(net, torch.device("cpu"), precision, info)
        self._net = net
        self._state = StateBuffers(lambda shape, i: torch.zeros(shape, dtype=torch.float32))
        if onnx_path is None:
            onnx_path = cached_int8(net, calibration) if precision == Precision.INT8 else cached_onnx(net)
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
        self.inputs, self.outputs = io_names(net)
        self.binding = self.session.io_binding()
        self._frame: torch.Tensor | None = None

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> "OrtBackend":
        net, info = load_model(cfg.spec)
        return cls(net, cfg.threads, info, precision=cfg.precision, calibration=cfg.calibration)

    def init_state(self, h: int, w: int, slot: int = 0):
        if self._frame is None or tuple(self._frame.shape[-2:]) != (h, w):
            self._frame = torch.zeros((1, 3, h, w), dtype=torch.float32)
        return self._state.reset(self._net.state_shapes(1, h, w), slot)

    def _bind_out(self, name: str, t: torch.Tensor) -> None:
        self.binding.bind_output(name, "cpu", 0, np.float32, list(t.shape), t.data_ptr())

    def step(self, window: torch.Tensor, state):
        outs = self._state.outputs_for(state)
        b = self.binding
        b.bind_cpu_input("window", window.contiguous().numpy())
        for name, t in zip(self.state_names, state):
            b.bind_cpu_input(name, t.contiguous().numpy())
        self._bind_out("frame", self._frame)
        for name, t in zip(self.outputs[1:], outs):
            self._bind_out(name, t)
        self.session.run_with_iobinding(b)
        return self._frame, tuple(outs)

    def close(self) -> None:
        self.session = None
