"""The Python API's Deblurrer: the frame-by-frame core (vdeblur.deblurrer) plus `create`, which opens a
backend by name (the core itself never imports the backends)."""
from __future__ import annotations

from .config import ModelConfig, Precision
from .deblurrer import Deblurrer as _Core


class Deblurrer(_Core):
    __doc__ = _Core.__doc__

    @classmethod
    def create(cls, model: str = "small", backend: str = "auto", device: str = "auto",
               precision: str = "auto", tile: int | None = None,
               size: tuple[int, int] | None = None) -> "Deblurrer":
        """A Deblurrer over a backend opened from a model name or weights path. tile: see the class (None:
        whole frames). size: the frames' (h, w), for `auto`'s CPU probe."""
        from .backends.select import open_backend

        return cls(open_backend(ModelConfig(spec=model, backend=str(backend), device=device,
                                            precision=Precision(precision)), size=size), tile=tile)
