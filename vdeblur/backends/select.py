"""Which backend a run gets: `auto` (TensorRT or torch on a CUDA GPU; on a CPU the measured fastest backend
and precision, probe.py) or the one named. Apart from base.py (the contract and the registry), which the
backends themselves import, so that nothing below this module imports the probe."""
from __future__ import annotations

from ..config import ModelConfig
from .base import Backend, auto_order, entry


def auto_choice(fallback: str = "torch") -> str:
    """The first backend in auto order whose availability check passes; else `fallback`."""
    return next((e.name for e in auto_order() if e.available()), fallback)


def open_backend(cfg: ModelConfig, log=None, size: tuple[int, int] | None = None) -> Backend:
    """Build the backend the config names. "auto": TensorRT or torch on a CUDA GPU (auto_rank order);
    on a CPU the fastest measured backend and precision for this model and frame size (probe.py).

    size: the frames' (h, w), for the CPU probe (None: 640x360)."""
    name = str(getattr(cfg.backend, "value", cfg.backend))
    auto = name == "auto"
    if auto:
        name = auto_choice()
        from .probe import CPU_BACKENDS, choose  # the probe opens backends: imported when auto needs it

        if name in CPU_BACKENDS:
            backend = choose(cfg, size)
            if log:
                log(f"backend: {backend.name} {backend.precision.value} on {backend.device} (auto)")
            return backend
    backend = entry(name).load().from_config(cfg)
    if log:
        log(f"backend: {backend.name} {backend.precision.value} on {backend.device}{' (auto)' if auto else ''}")
    return backend
