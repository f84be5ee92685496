"""An exported recurrent step: an ONNX file and the StepSpec beside it, which is all that the ONNX Runtime and
OpenVINO engines know of the network (no torch, nothing from vdeblur.model's network code).

Where a model spec's step comes from: exported.py.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ModelError

SPEC_VERSION = 1
OPSET = 17
# Bumped whenever DeblurNet's exported graph changes for the same weights, so old cached files are not reused.
GRAPH_VERSION = 5
GRAPH_TAG = f"g{GRAPH_VERSION}-op{OPSET}"
_MAX_STATES = 64


@dataclass(frozen=True)
class StepSpec:
    """What an engine needs to run one step: window (1, K, 3, H, W) float32 in [0, 1] with H, W multiples of
    `stride`, and state tensors (1, C_i, H / state_scale, W / state_scale) float32, in and out by name."""

    window: int                         # K frames, oldest first
    stride: int                         # frames are padded to multiples of this
    state_names: tuple[str, ...]
    state_channels: tuple[int, ...]
    state_scale: int
    receptive_radius: int               # px of context one step reads on each side (a tile's margin)
    width: int                          # feature channels at full resolution (the memory planner's scale)
    digest: str                         # of the weights the step was exported from (cache keys)
    graph: str = ""                     # the exporter's graph and opset version (a stale cache entry differs)

    @property
    def inputs(self) -> list[str]:
        return ["window", *self.state_names]

    @property
    def outputs(self) -> list[str]:
        return ["frame", *[f"{n}_out" for n in self.state_names]]

    def state_shapes(self, n: int, h: int, w: int) -> list[tuple[int, int, int, int]]:
        """Shapes of the state tensors for n frames of padded size h x w."""
        return [(n, c, h // self.state_scale, w // self.state_scale) for c in self.state_channels]

    def to_dict(self) -> dict:
        return {"version": SPEC_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "StepSpec":
        """Checked: a spec file is input like any other (bounded integers, matching name and channel lists)."""
        if not isinstance(d, dict) or d.get("version") != SPEC_VERSION:
            raise ValueError(f"not a version-{SPEC_VERSION} step spec")
        ints = {"window": (1, 16), "stride": (1, 64), "state_scale": (1, 64), "receptive_radius": (0, 4096),
                "width": (1, 4096)}
        for key, (lo, hi) in ints.items():
            v = d.get(key)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ValueError(f"{key} must be an integer in [{lo}, {hi}], got {v!r}")
        names, channels = d.get("state_names"), d.get("state_channels")
        if (not isinstance(names, (list, tuple)) or not isinstance(channels, (list, tuple)) or len(names) != len(channels)
                or len(names) > _MAX_STATES or not all(isinstance(n, str) and n.isidentifier() for n in names)
                or not all(isinstance(c, int) and 1 <= c <= 4096 for c in channels)):
            raise ValueError("state_names and state_channels must be lists of equal length (names, 1..4096)")
        return cls(window=d["window"], stride=d["stride"], state_names=tuple(names),
                   state_channels=tuple(channels), state_scale=d["state_scale"],
                   receptive_radius=d["receptive_radius"], width=d["width"], digest=str(d.get("digest", "")),
                   graph=str(d.get("graph", "")))


@dataclass(frozen=True)
class ExportedStep:
    """An ONNX step file, its spec and the weights' metadata (the info dict of their safetensors)."""

    onnx: Path
    spec: StepSpec
    info: dict


def spec_path(onnx: Path) -> Path:
    """PATH.onnx -> PATH.step.json"""
    onnx = Path(onnx)
    return onnx.with_name(onnx.name[:-len(".onnx")] + ".step.json" if onnx.name.endswith(".onnx")
                          else onnx.name + ".step.json")


def write_spec(onnx: Path, spec: StepSpec) -> Path:
    from .cache import atomic_write

    path = spec_path(onnx)
    atomic_write(path, (json.dumps(spec.to_dict(), indent=1) + "\n").encode())
    return path


def read_spec(onnx: Path) -> StepSpec:
    path = spec_path(onnx)
    try:
        return StepSpec.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError) as e:
        raise ModelError(f"bad step spec {path}: {e}") from None
