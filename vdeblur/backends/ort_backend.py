"""ONNX Runtime backend (CPU by default): IO binding onto preallocated buffers, state ping-pong.

Buffer ownership: the backend owns two host buffers per state tensor (A, B) and one output frame
buffer. step() binds the window and state A as inputs and state B and the frame as outputs, runs, and
swaps A and B; the returned frame and state are views of those buffers, valid until the next step.
"""
from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
import torch

from ..config import ModelConfig, Precision
from ..errors import BackendError
from ..model.loading import load_model
from ..model.net import DeblurNet
from .onnx_export import cached_onnx, io_names


def _cpu_threads(requested: int) -> int:
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class OrtBackend:
    name = "onnxruntime"

    def __init__(self, net: DeblurNet, threads: int = 0, info: dict | None = None, onnx_path=None,
                 spin: bool = False, session_config: dict | None = None):
        self.info = info or {}
        self.device = torch.device("cpu")
        self.precision = Precision.FP32
        self.window = net.window
        self.stride = net.stride
        self.state_names = net.state_names
        self._net = net
        path = onnx_path or cached_onnx(net)
        so = ort.SessionOptions()
        so.intra_op_num_threads = _cpu_threads(threads)
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spin:
            # Workers sleep between operators instead of spinning, so decode and encode threads can use
            # those gaps: the 2-core pipeline runs 1.1x faster, model-only ~4 % slower
            # (benchmarks/codec_priority.py).
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        for k, v in (session_config or {}).items():
            so.add_session_config_entry(k, str(v))
        try:
            self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise BackendError(f"onnxruntime cannot load {path}: {e}") from None
        self.inputs, self.outputs = io_names(net)
        self.binding = self.session.io_binding()
        self._shape = None

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> "OrtBackend":
        if cfg.precision == Precision.FP16:
            raise BackendError("the onnxruntime backend runs fp32 only (fp16 is for GPU backends)")
        net, info = load_model(cfg.spec)
        return cls(net, cfg.threads, info)

    def init_state(self, h: int, w: int):
        shapes = self._net.state_shapes(1, h, w)
        if self._shape != (h, w):
            self._shape = (h, w)
            self._a = [np.zeros(s, np.float32) for s in shapes]
            self._b = [np.zeros(s, np.float32) for s in shapes]
            self._frame = np.zeros((1, 3, h, w), np.float32)
        for t in self._a:
            t.fill(0)
        return tuple(torch.from_numpy(t) for t in self._a)

    def _bind_out(self, name: str, arr: np.ndarray) -> None:
        self.binding.bind_output(name, "cpu", 0, np.float32, list(arr.shape), arr.ctypes.data)

    def step(self, window: torch.Tensor, state):
        win = window.contiguous().numpy()
        st = [s.contiguous().numpy() if isinstance(s, torch.Tensor) else s for s in state]
        # Write into whichever buffer set the incoming state is not using.
        outs = self._b if (st and st[0].ctypes.data == self._a[0].ctypes.data) else self._a
        b = self.binding
        b.bind_cpu_input("window", win)
        for name, arr in zip(self.state_names, st):
            b.bind_cpu_input(name, arr)
        self._bind_out("frame", self._frame)
        for name, arr in zip(self.outputs[1:], outs):
            self._bind_out(name, arr)
        self.session.run_with_iobinding(b)
        return torch.from_numpy(self._frame), tuple(torch.from_numpy(a) for a in outs)

    def close(self) -> None:
        self.session = None
