"""vdeblur: real-time video motion deblurring.

    import vdeblur
    vdeblur.deblur_file("in.mp4", "out.mp4")                  # file to file, shipped `small` weights
    d = vdeblur.Deblurrer.create("small")                       # frame iterator API
    for sharp in d(frames): ...                                 # frames: (H, W, 3) uint8 RGB
"""
from __future__ import annotations

from .config import Backend, EncodeConfig, ModelConfig, Precision, RunConfig
from .deblurrer import Deblurrer as _Deblurrer
from .errors import VdeblurError

__version__ = "0.1.0"


class Deblurrer(_Deblurrer):
    @classmethod
    def create(cls, model: str = "small", backend: str = "auto", device: str = "auto",
               precision: str = "auto") -> "Deblurrer":
        from .backends import open_backend

        return cls(open_backend(ModelConfig(spec=model, backend=str(backend), device=device,
                                            precision=Precision(precision))))


def deblur_file(input: str, output: str, *, overwrite: bool = False, model: str = "small",
                backend: str = "auto", device: str = "auto", codec: str = "libx264", crf: int = 18,
                preset: str = "medium", compare: bool = False, json_path: str | None = None) -> dict:
    """Deblur a video file; returns the run summary (frames, fps, per-stage timing)."""
    from .pipeline import run_file

    cfg = RunConfig(input=str(input), output=str(output), overwrite=overwrite,
                    model=ModelConfig(spec=model, backend=str(backend), device=device),
                    encode=EncodeConfig(codec=codec, crf=crf, preset=preset), compare=compare,
                    json_path=json_path, quiet=True, progress=False)
    return run_file(cfg)


__all__ = ["Backend", "Deblurrer", "EncodeConfig", "ModelConfig", "Precision", "RunConfig", "VdeblurError",
           "deblur_file", "__version__"]
