"""Inference backends: the contract and registry are in base.py. Adding a backend is one new file (a class
with from_config(ModelConfig) that satisfies base.Backend) plus one register() line below."""
from __future__ import annotations

import importlib.util

from .base import Backend, StateBuffers, backend_names, register
from .select import open_backend

__all__ = ["Backend", "StateBuffers", "backend_names", "open_backend", "register", "tensorrt_available"]


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def tensorrt_available() -> bool:
    return _has("tensorrt") and _cuda()


# `--backend auto` order: TensorRT, then torch on CUDA, then ONNX Runtime (CPU); torch on the CPU otherwise.
register("tensorrt", "vdeblur.backends.trt_backend:TrtBackend", tensorrt_available, auto_rank=10)
register("torch", "vdeblur.backends.torch_backend:TorchBackend", _cuda, auto_rank=20)
register("onnxruntime", "vdeblur.backends.ort_backend:OrtBackend", lambda: _has("onnxruntime"), auto_rank=30)
register("openvino", "vdeblur.backends.openvino_backend:OpenVinoBackend", lambda: _has("openvino"), auto_rank=40)
