"""OpenVINO backend (CPU): the same exported step (fp32, or the int8 QDQ model from quantize.py, which
OpenVINO runs with its own int8 kernels), compiled for one frame size at a time.

Buffer ownership, as in ort_backend: the backend owns two sets of state tensors per slot (A, B) and one
output frame. step() hands OpenVINO the window and state A as input tensors that share memory with the
caller's arrays, and state B and the frame as its output tensors (OpenVINO writes into them: no copy out);
the next step of that slot reads B as its input. The returned frame and state are views of those buffers.
"""
from __future__ import annotations

import numpy as np
import openvino as ov

from ..config import ModelConfig, Precision
from ..errors import BackendError
from .base import NetBackend, StateBuffers, cpu_precision, cpu_threads
from .exported import exported_step
from .quantize import cached_int8
from .step import ExportedStep


class OpenVinoBackend(NetBackend):
    name = "openvino"

    def __init__(self, step: ExportedStep, threads: int = 0, onnx_path=None,
                 precision: Precision = Precision.FP32, calibration=None):
        precision = cpu_precision(precision, step.info, self.name)
        self._adopt_spec(step.spec, precision, step.info)
        if onnx_path is None:
            onnx_path = cached_int8(step, calibration) if precision == Precision.INT8 else step.onnx
        self.core = ov.Core()
        try:
            self.model = self.core.read_model(str(onnx_path))
        except Exception as e:  # noqa: BLE001 - OpenVINO raises RuntimeError subclasses of its own
            raise BackendError(f"openvino cannot read {onnx_path}: {e}") from None
        # f32 where the model is float: without the hint OpenVINO may run bf16 on CPUs that have it, which
        # would break parity with the other backends (1e-4).
        self.config = {"INFERENCE_NUM_THREADS": cpu_threads(threads), "PERFORMANCE_HINT": "LATENCY",
                       "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": "f32"}
        self.inputs, self.outputs = step.spec.inputs, step.spec.outputs
        self._state = StateBuffers(lambda shape, i: np.zeros(shape, dtype=np.float32))
        self._shape: tuple[int, int] | None = None
        self._request = None
        self._frame: np.ndarray | None = None

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> "OpenVinoBackend":
        return cls(exported_step(cfg.spec), cfg.threads, precision=cfg.precision, calibration=cfg.calibration)

    def _compile(self, h: int, w: int) -> None:
        """Static shapes for this frame size: OpenVINO's CPU kernels are fastest without dynamic dims."""
        shapes = {"window": [1, self.window, 3, h, w],
                  **{n: list(s) for n, s in zip(self.state_names, self.spec.state_shapes(1, h, w))}}
        model = self.model.clone()
        model.reshape(shapes)
        try:
            compiled = self.core.compile_model(model, "CPU", self.config)
        except Exception as e:  # noqa: BLE001
            raise BackendError(f"openvino cannot compile the model for {w}x{h}: {e}") from None
        self._request = compiled.create_infer_request()
        self._ports = {o.get_any_name(): o for o in compiled.outputs}
        self._frame = np.zeros((1, 3, h, w), dtype=np.float32)
        self._shape = (h, w)

    def init_state(self, h: int, w: int, slot: int = 0):
        if self._shape != (h, w):
            self._compile(h, w)
        return self._state.reset(self.spec.state_shapes(1, h, w), slot)

    @staticmethod
    def _tensor(a: np.ndarray) -> ov.Tensor:
        return ov.Tensor(np.ascontiguousarray(a, dtype=np.float32), shared_memory=True)

    def step(self, window: np.ndarray, state):
        outs = self._state.outputs_for(state)
        r = self._request
        r.set_tensor("window", self._tensor(window))
        for name, t in zip(self.state_names, state):
            r.set_tensor(name, self._tensor(t))
        r.set_tensor(self._ports["frame"], self._tensor(self._frame))
        for name, t in zip(self.outputs[1:], outs):
            r.set_tensor(self._ports[name], self._tensor(t))
        r.infer()
        return self._frame, tuple(outs)

    def close(self) -> None:
        self._request = None
        self.model = None
