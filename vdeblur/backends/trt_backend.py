"""TensorRT backend: engines built from the step's ONNX, cached under engines/ (engine_cache.py), the
recurrent state kept on the GPU.

Buffers are torch CUDA tensors rather than pycuda allocations: torch is already loaded, its caching
allocator and streams are what the rest of the pipeline (ring buffer, pinned staging in the Deblurrer)
uses, and mixing a second CUDA context manager (pycuda) with torch's primary context is a known source
of invalid-context errors. The engine runs on torch's current stream, so it is ordered after the
preprocessing that filled the window and before the postprocessing that reads the frame, with no extra
synchronisation.

State: two device buffers per state tensor (A and B). A step reads the state from one set and writes
the new state into the other; the returned state is that set, so the next step swaps again. Nothing
recurrent ever crosses to the host.

Precision: TensorRT 10 builds fp16 from the fp32 ONNX with BuilderFlag.FP16. TensorRT 11 removed that
flag (weak typing is gone): the graph itself must carry fp16, so an fp16 ONNX is exported (fp16 weights
and compute, fp32 inputs and outputs) and built as a strongly typed network.
"""
from __future__ import annotations

import copy
import logging
from pathlib import Path

import torch
from torch import nn

from ..config import ModelConfig, Precision, ShapeProfile
from ..errors import BackendError
from ..model.loading import load_model
from ..model.net import DeblurNet
from .base import NetBackend, StateBuffers
from .engine_cache import EngineCache, EngineSpec, sha256_file
from .onnx_export import cached_onnx, io_names

log = logging.getLogger("vdeblur")


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        raise BackendError("tensorrt backend needs the tensorrt package (pip install 'vdeblur[tensorrt]') "
                           "and an NVIDIA GPU") from None
    if not torch.cuda.is_available():
        raise BackendError("tensorrt backend needs a CUDA GPU, and torch sees none")
    return trt


def trt_major(trt) -> int:
    return int(trt.__version__.split(".")[0])


def uses_strong_typing(trt, precision: Precision) -> bool:
    """fp16 through the graph's own types (TensorRT 11+, or any version without BuilderFlag.FP16)."""
    return precision == Precision.FP16 and (trt_major(trt) >= 11 or not hasattr(trt.BuilderFlag, "FP16"))


class _HalfStep(nn.Module):
    """The step with fp16 weights and compute and fp32 inputs and outputs (the ONNX for strong typing)."""

    def __init__(self, net: DeblurNet):
        super().__init__()
        self.net = copy.deepcopy(net).half()
        self.window = net.window
        self.state_names = net.state_names
        self.init_state = net.init_state

    def forward(self, window: torch.Tensor, *state: torch.Tensor):
        out, *new = self.net(window.half(), *(s.half() for s in state))
        return (out.float(), *(s.float() for s in new))


def step_onnx(net: DeblurNet, fp16_graph: bool) -> Path:
    """The cached ONNX that TensorRT parses: the fp32 step (the file ONNX Runtime uses), or the fp16-typed
    step."""
    return cached_onnx(net, "fp16", _HalfStep(net)) if fp16_graph else cached_onnx(net)


def _input_shapes(net: DeblurNet, h: int, w: int) -> dict[str, tuple[int, ...]]:
    """Engine input shapes for padded frames of h x w."""
    shapes = {"window": (1, net.window, 3, h, w)}
    for name, s in zip(net.state_names, net.state_shapes(1, h, w)):
        shapes[name] = s
    return shapes


def build_engine(trt, onnx_path: Path, net: DeblurNet, precision: Precision, profile: ShapeProfile,
                 timing_cache: bytes | None) -> tuple[bytes, bytes]:
    """Parse the ONNX and build a serialised engine; returns (engine, updated timing cache)."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strong = uses_strong_typing(trt, precision)
    flags = 0
    if strong and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BackendError(f"TensorRT cannot parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    if precision == Precision.FP16 and not strong:
        config.set_flag(trt.BuilderFlag.FP16)
    cache = config.create_timing_cache(timing_cache or b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    prof = builder.create_optimization_profile()
    # Profiles are (width, height), as TensorRT users write them; shapes are (h, w).
    lo, mid, hi = (_input_shapes(net, s[1], s[0]) for s in (profile.min, profile.opt, profile.max))
    for name in lo:
        prof.set_shape(name, lo[name], mid[name], hi[name])
    config.add_optimization_profile(prof)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendError("TensorRT engine build failed (see the TensorRT messages above)")
    return bytes(serialized), bytes(config.get_timing_cache().serialize())


class TrtBackend(NetBackend):
    name = "tensorrt"

    def __init__(self, net: DeblurNet, precision: Precision = Precision.FP16,
                 profile: ShapeProfile = ShapeProfile(), info: dict | None = None,
                 cache: EngineCache | None = None):
        trt = import_tensorrt()
        profile.check()
        self._adopt(net, torch.device("cuda"), precision, info)
        self.profile = profile
        self._net = net
        onnx_path = step_onnx(net, uses_strong_typing(trt, precision))
        spec = EngineSpec(onnx_sha256=sha256_file(onnx_path), precision=precision.value, profile=profile,
                          trt_version=trt.__version__, gpu_name=torch.cuda.get_device_name())
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        inputs, outputs = io_names(net)

        def validate(data: bytes):
            engine = self.runtime.deserialize_cuda_engine(data)
            if engine is None:
                raise ValueError("TensorRT could not deserialise it")
            names = {engine.get_tensor_name(i) for i in range(engine.num_io_tensors)}
            if names != set(inputs) | set(outputs):
                raise ValueError(f"its tensors {sorted(names)} are not the step's")
            return engine

        self.cache = cache or EngineCache()
        label = self.info.get("preset", "deblurnet")
        self.engine = self.cache.get_or_build(
            spec, lambda tc: build_engine(trt, onnx_path, net, precision, profile, tc), validate, label)
        self.engine_path = self.cache.path(spec, label)
        self.context = self.engine.create_execution_context()
        self.inputs, self.outputs = inputs, outputs
        self._dtypes = {n: _torch_dtype(trt, self.engine.get_tensor_dtype(n)) for n in inputs + outputs}
        self._shape: tuple[int, int] | None = None
        # The state never leaves the GPU: two buffer sets, swapped each step.
        self._state = StateBuffers(lambda shape, i: torch.zeros(shape, device=self.device,
                                                                dtype=self._dtypes[self.state_names[i]]))

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> "TrtBackend":
        net, info = load_model(cfg.spec)
        precision = Precision.FP16 if cfg.precision == Precision.AUTO else cfg.precision
        if precision == Precision.INT8:
            raise BackendError("the tensorrt backend runs fp16 or fp32 (int8 is for the CPU backends: "
                               "onnxruntime, openvino)")
        return cls(net, precision, cfg.trt_profile, info)

    def init_state(self, h: int, w: int, slot: int = 0):
        if not self.profile.covers(w, h):
            raise BackendError(f"frame size {w}x{h} (padded) is outside the TensorRT engine's profile "
                               f"{self.profile}; build one that covers it (vdeblur build-engine --min/--max)")
        if self._shape != (h, w):
            self._shape = (h, w)
            for name, shape in _input_shapes(self._net, h, w).items():
                if not self.context.set_input_shape(name, shape):
                    raise BackendError(f"TensorRT rejected shape {shape} for {name}")
            self._frame = torch.empty((1, 3, h, w), device=self.device, dtype=self._dtypes["frame"])
        return self._state.reset(self._net.state_shapes(1, h, w), slot)

    def step(self, window: torch.Tensor, state):
        """window (1, K, 3, h, w) float32 on the GPU -> (frame (1, 3, h, w) float32, state), both views of
        the backend's device buffers, valid until the next step."""
        win = window.to(device=self.device, dtype=self._dtypes["window"]).contiguous()
        outs = self._state.outputs_for(state)
        ctx = self.context
        ctx.set_tensor_address("window", win.data_ptr())
        for name, t in zip(self.state_names, state):
            ctx.set_tensor_address(name, t.data_ptr())
        ctx.set_tensor_address("frame", self._frame.data_ptr())
        for name, t in zip(self.outputs[1:], outs):
            ctx.set_tensor_address(name, t.data_ptr())
        if not ctx.execute_async_v3(torch.cuda.current_stream().cuda_stream):
            raise BackendError("TensorRT execution failed")
        return self._frame.float(), tuple(outs)

    def close(self) -> None:
        self.context = None
        self.engine = None


def _torch_dtype(trt, dt) -> torch.dtype:
    table = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16}
    if dt not in table:
        raise BackendError(f"unexpected TensorRT tensor type {dt}")
    return table[dt]
