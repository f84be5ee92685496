"""Inference backends. Contract (DESIGN.md):

    init_state(h, w) -> state             state: tuple of tensors named by `state_names`
    step(window, state) -> (frame, state) window (1, K, 3, h, w) float32 [0, 1] on `device`;
                                          frame (1, 3, h, w) float32
    close()

h and w are padded to a multiple of `stride`.
"""
from __future__ import annotations

import sys

import torch

from ..config import Backend, ModelConfig
from ..errors import BackendError


def tensorrt_available() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return True


def open_backend(cfg: ModelConfig, log=None):
    """Build the backend the config asks for; for AUTO the fastest one here: TensorRT, then torch CUDA,
    then ONNX Runtime (CPU), then torch CPU."""
    from .torch_backend import TorchBackend

    choice = cfg.backend
    auto = choice == Backend.AUTO
    if auto:
        if tensorrt_available():
            choice = Backend.TENSORRT
        elif torch.cuda.is_available():
            choice = Backend.TORCH
        else:
            try:
                import onnxruntime  # noqa: F401
                from .ort_backend import OrtBackend  # noqa: F401
                choice = Backend.ONNXRUNTIME
            except ImportError:
                choice = Backend.TORCH
    if choice == Backend.TORCH:
        backend = TorchBackend.from_config(cfg)
    elif choice == Backend.ONNXRUNTIME:
        try:
            from .ort_backend import OrtBackend
        except ImportError as e:
            raise BackendError(f"onnxruntime backend unavailable: {e}") from None
        backend = OrtBackend.from_config(cfg)
    elif choice == Backend.TENSORRT:
        from .trt_backend import TrtBackend

        backend = TrtBackend.from_config(cfg)
    else:
        raise BackendError(f"unknown backend {choice}")
    if log:
        log(f"backend: {backend.name} on {backend.device}{' (auto)' if auto else ''}")
    return backend
