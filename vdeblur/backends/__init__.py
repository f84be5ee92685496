"""Inference backends: the contract and registry are in base.py. Adding a backend is one new file (a class
with from_config(ModelConfig) that satisfies base.Backend) plus one register() line below."""
from __future__ import annotations

import importlib.util

from .base import Backend, StateBuffers, backend_names, register
from .select import open_backend

__all__ = ["Backend", "StateBuffers", "backend_names", "cuda_available", "open_backend", "register",
           "tensorrt_available"]


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def cuda_available() -> bool:
    """A usable CUDA GPU for torch. Where no NVIDIA driver is loaded the answer is no without importing
    torch (1.4 s), so `auto` on a CPU machine starts as fast as the CPU engines allow."""
    if not _has("torch") or not _nvidia_driver():
        return False
    import torch

    return torch.cuda.is_available()


def _nvidia_driver() -> bool:
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return True         # no cheap test elsewhere: ask torch
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


def tensorrt_available() -> bool:
    return _has("tensorrt") and cuda_available()


# `--backend auto` order: TensorRT, then torch on CUDA, then ONNX Runtime (CPU); torch on the CPU otherwise.
register("tensorrt", "vdeblur.backends.trt_backend:TrtBackend", tensorrt_available, auto_rank=10)
register("torch", "vdeblur.backends.torch_backend:TorchBackend", cuda_available, auto_rank=20)
register("onnxruntime", "vdeblur.backends.ort_backend:OrtBackend", lambda: _has("onnxruntime"), auto_rank=30)
register("openvino", "vdeblur.backends.openvino_backend:OpenVinoBackend", lambda: _has("openvino"), auto_rank=40)
