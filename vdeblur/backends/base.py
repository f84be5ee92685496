"""The backend contract, its shared parts, and the registry that maps names to backends.

A backend runs one recurrent step of the network:

    init_state(h, w) -> state              zeroed state for padded frames of h x w (FrameGeometry.padded)
    step(window, state) -> (frame, state)  window (1, K, 3, h, w) float32 [0, 1] on `device`;
                                           frame (1, 3, h, w) float32, nominally [0, 1]
    close()

Buffer ownership: what step() returns may be a view of the backend's own buffers, valid until the next
step() or init_state(); a caller that keeps a frame copies it (the Deblurrer converts it at once).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

import torch

from ..config import ModelConfig, Precision
from ..errors import BackendError

State = tuple[torch.Tensor, ...]


@runtime_checkable
class Backend(Protocol):
    name: str
    device: torch.device
    precision: Precision
    window: int                     # K, frames per window (oldest first)
    stride: int                     # frames are padded to multiples of this
    state_names: list[str]          # the state's tensor names, the same in every backend and the ONNX
    info: dict                      # the weights' metadata

    def init_state(self, h: int, w: int) -> State: ...

    def step(self, window: torch.Tensor, state: State) -> tuple[torch.Tensor, State]: ...

    def close(self) -> None: ...


class NetBackend:
    """The contract's attributes, taken from the network a backend runs."""

    name = ""

    def _adopt(self, net, device: torch.device, precision: Precision, info: dict | None) -> None:
        self.device = device
        self.precision = precision
        self.info = info or {}
        self.window = net.window
        self.stride = net.stride
        self.state_names = net.state_names


class StateBuffers:
    """Two preallocated sets of state tensors (A, B), swapped each step, for backends that write the new
    state into buffers they own (ONNX Runtime's IO binding, TensorRT's tensor addresses).

    reset(shapes) zeroes and returns set A (reallocating both when the shapes change); outputs_for(state)
    is the set the incoming state is not using, where the step writes the new state.
    """

    def __init__(self, make: Callable[[tuple[int, ...], int], torch.Tensor]):
        self._make = make               # (shape, index in the state) -> new tensor
        self._shapes: list | None = None
        self.a: list[torch.Tensor] = []
        self.b: list[torch.Tensor] = []

    def reset(self, shapes: list[tuple[int, ...]]) -> State:
        if self._shapes != list(shapes):
            self._shapes = list(shapes)
            self.a = [self._make(tuple(s), i) for i, s in enumerate(shapes)]
            self.b = [self._make(tuple(s), i) for i, s in enumerate(shapes)]
        for t in self.a:
            t.zero_()
        return tuple(self.a)

    def outputs_for(self, state: State) -> list[torch.Tensor]:
        return self.b if state and state[0].data_ptr() == self.a[0].data_ptr() else self.a


@dataclass(frozen=True)
class BackendEntry:
    name: str
    target: str                              # "module:Class" with a from_config(ModelConfig) classmethod
    available: Callable[[], bool]            # cheap check: can it run here at all?
    auto_rank: int | None = None             # `--backend auto` tries ranked backends, lowest first

    def load(self):
        module, cls = self.target.split(":")
        try:
            return getattr(importlib.import_module(module), cls)
        except ImportError as e:
            raise BackendError(f"{self.name} backend unavailable: {e}") from None


_REGISTRY: dict[str, BackendEntry] = {}


def register(name: str, target: str, available: Callable[[], bool], auto_rank: int | None = None) -> None:
    _REGISTRY[name] = BackendEntry(name, target, available, auto_rank)


def backend_names() -> list[str]:
    return list(_REGISTRY)


def entry(name: str) -> BackendEntry:
    if name not in _REGISTRY:
        raise BackendError(f"unknown backend {name!r} (known: {', '.join(_REGISTRY)})")
    return _REGISTRY[name]


def auto_choice(fallback: str = "torch") -> str:
    """The first backend in auto order whose availability check passes; else `fallback`."""
    ranked = sorted((e for e in _REGISTRY.values() if e.auto_rank is not None), key=lambda e: e.auto_rank)
    return next((e.name for e in ranked if e.available()), fallback)


def open_backend(cfg: ModelConfig, log=None) -> Backend:
    """Build the backend the config names; for "auto" the fastest available one (see auto_rank)."""
    name = str(getattr(cfg.backend, "value", cfg.backend))
    auto = name == "auto"
    if auto:
        name = auto_choice()
    backend = entry(name).load().from_config(cfg)
    if log:
        log(f"backend: {backend.name} on {backend.device}{' (auto)' if auto else ''}")
    return backend
