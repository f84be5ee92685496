"""The backend contract, its shared parts, and the registry that maps names to backends.

A backend runs one recurrent step of the network:

    init_state(h, w, slot=0) -> state      zeroed state for padded frames of h x w (FrameGeometry.padded);
                                           slot: an independent state (one per tile), see below
    step(window, state) -> (frame, state)  window (1, K, 3, h, w) float32 [0, 1]; frame (1, 3, h, w) float32,
                                           nominally [0, 1]
    close()

Arrays: on the CPU (device "cpu") windows and frames are numpy arrays, so the ONNX Runtime and OpenVINO
engines and everything around them run without torch; on a GPU (device "cuda...") they are torch tensors on
that device. The state is the engine's own (opaque to the caller).

Buffer ownership: the frame step() returns may be a view of the backend's own buffers, valid until the
next step() or init_state(); a caller that keeps a frame copies it (the Deblurrer converts it at once).
The state step() returns stays valid until the next step() on the same slot (the slot of the state that
went in), so several states (tiles of one frame) are carried side by side without copies.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

from ..config import Precision
from ..errors import BackendError

if TYPE_CHECKING:       # the registry and the contract import without torch (a fast `vdeblur --help`)
    from .step import StepSpec

State = tuple   # the recurrent state's arrays, in the order of the backend's state names
Array = Any     # numpy.ndarray on the CPU, torch.Tensor on a GPU


@runtime_checkable
class Backend(Protocol):
    name: str
    device: Any                     # "cpu", or a torch.device / "cuda:N" string for GPU engines
    precision: Precision
    window: int                     # K, frames per window (oldest first)
    stride: int                     # frames are padded to multiples of this
    state_names: list[str]          # the state's tensor names, the same in every backend and the ONNX
    info: dict                      # the weights' metadata
    margin: int                     # px of context a tile needs on each side: the step's receptive field
    width: int                      # feature channels at full resolution (the memory planner's scale)

    def init_state(self, h: int, w: int, slot: int = 0) -> State: ...

    def step(self, window: Array, state: State) -> tuple[Array, State]: ...

    def close(self) -> None: ...


class NetBackend:
    """The contract's attributes, taken from the network a backend runs (torch engines) or from the
    StepSpec of its exported step (ONNX engines)."""

    name = ""

    def _adopt_spec(self, spec: StepSpec, precision: Precision, info: dict | None) -> None:
        self.device = "cpu"
        self.precision = precision
        self.info = info or {}
        self.spec = spec
        self.window = spec.window
        self.stride = spec.stride
        self.state_names = list(spec.state_names)
        self.width = spec.width
        radius = spec.receptive_radius
        self._receptive = lambda: radius

    def _adopt(self, net, device, precision: Precision, info: dict | None) -> None:
        self.device = device
        self.precision = precision
        self.info = info or {}
        self.window = net.window
        self.stride = net.stride
        self.state_names = net.state_names
        self.width = net.width
        self._receptive = net.receptive_radius     # measured on first use (tiles only)

    @property
    def margin(self) -> int:
        return self._receptive()


class StateBuffers:
    """Preallocated state tensors for backends that write the new state into buffers they own (ONNX
    Runtime's IO binding, TensorRT's tensor addresses, OpenVINO's output tensors): two sets (A, B) per state
    slot, swapped each step.

    A slot is one independent recurrent state (the pipeline uses slot 0; tiles use one slot each), so
    stepping one slot never overwrites another's. reset(shapes, slot) zeroes and returns the slot's set A
    (reallocating the slot's sets when the shapes change); outputs_for(state) is the set of the same slot
    that the incoming state is not using, where the step writes the new state. Tensors are numpy arrays
    (CPU engines) or torch tensors (TensorRT).
    """

    def __init__(self, make: Callable[[tuple[int, ...], int], Any]):
        self._make = make               # (shape, index in the state) -> new tensor
        self._slots: dict[int, tuple[list, list, list]] = {}
        self._owner: dict[int, tuple[int, int]] = {}    # data_ptr of a set's first tensor -> (slot, 0 A / 1 B)

    def reset(self, shapes: list[tuple[int, ...]], slot: int = 0) -> State:
        held = self._slots.get(slot)
        if held is None or held[0] != list(shapes):
            if held is not None:
                for t in (held[1][0], held[2][0]):
                    self._owner.pop(_address(t), None)
            a = [self._make(tuple(s), i) for i, s in enumerate(shapes)]
            b = [self._make(tuple(s), i) for i, s in enumerate(shapes)]
            held = self._slots[slot] = (list(shapes), a, b)
            self._owner[_address(a[0])] = (slot, 0)
            self._owner[_address(b[0])] = (slot, 1)
        for t in held[1]:
            t[...] = 0
        return tuple(held[1])

    def outputs_for(self, state: State) -> list:
        slot, which = self._owner.get(_address(state[0]), (0, 1)) if state else (0, 1)
        _, a, b = self._slots[slot]
        return b if which == 0 else a

    @property
    def slots(self) -> int:
        return len(self._slots)


def _address(t) -> int:
    """Where an array's data starts (numpy or torch)."""
    return t.data_ptr() if hasattr(t, "data_ptr") else t.ctypes.data


def int8_validated(info: dict | None) -> bool:
    """Whether the weights' card records int8 quality checked against fp32 (tools/int8_quality.py)."""
    return bool(((info or {}).get("int8") or {}).get("validated"))


def cpu_precision(requested: Precision, info: dict | None, backend: str) -> Precision:
    """What a CPU backend runs for the requested precision: fp32 or int8; auto means int8 only for weights
    whose int8 quality was validated."""
    if requested == Precision.FP16:
        raise BackendError(f"the {backend} backend runs fp32 or int8 (fp16 is for GPU backends)")
    if requested == Precision.AUTO:
        return Precision.INT8 if int8_validated(info) else Precision.FP32
    return requested


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
            extra = {"torch": "torch", "openvino": "openvino", "tensorrt": "tensorrt"}.get((e.name or "").split(".")[0])
            hint = f" (pip install 'vdeblur[{extra}]')" if extra else ""
            raise BackendError(f"{self.name} backend unavailable: {e}{hint}") from None


_REGISTRY: dict[str, BackendEntry] = {}


def register(name: str, target: str, available: Callable[[], bool], auto_rank: int | None = None) -> None:
    _REGISTRY[name] = BackendEntry(name, target, available, auto_rank)


def backend_names() -> list[str]:
    return list(_REGISTRY)


def entry(name: str) -> BackendEntry:
    if name not in _REGISTRY:
        raise BackendError(f"unknown backend {name!r} (known: {', '.join(_REGISTRY)})")
    return _REGISTRY[name]


def auto_order() -> list[BackendEntry]:
    """The registered backends that `auto` may pick, in the order it tries them."""
    return sorted((e for e in _REGISTRY.values() if e.auto_rank is not None), key=lambda e: e.auto_rank)


def cpu_threads(requested: int) -> int:
    """CPU threads for inference: the requested count, else every core this process may use."""
    import os

    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
