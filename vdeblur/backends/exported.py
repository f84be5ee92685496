"""Where a model spec's exported step comes from. small and sharp carry theirs in vdeblur/model/weights
(PRESET.onnx + PRESET.step.json, written by tools/export_onnx.py and checked against the safetensors by a
test). Other weights (base included) are exported once into the cache folder, keyed by the digest of the weights file's
bytes; only that first export needs torch (onnx_export.py, imported only then)."""
from __future__ import annotations

from ..errors import ModelError
from ..weights import SHIPPED_STEPS, WEIGHTS_DIR, file_digest_short, read_info, weights_path
from .cache import cache_dir, recorded
from .step import GRAPH_TAG, ExportedStep, read_spec, spec_path


def exported_step(spec: str) -> ExportedStep:
    """The step for a model spec (a shipped preset or a .safetensors path), exporting it once if needed.

    Shipped presets and weights already exported to the cache load without torch; exporting new weights
    needs it (the `torch` extra)."""

    path = weights_path(spec)
    info = read_info(path)
    if spec in SHIPPED_STEPS and (WEIGHTS_DIR / f"{spec}.onnx").exists():
        onnx = WEIGHTS_DIR / f"{spec}.onnx"
        return ExportedStep(onnx, read_spec(onnx), info)
    digest = file_digest_short(path)
    onnx = cache_dir() / "onnx" / f"deblurnet-{digest}-{GRAPH_TAG}.onnx"
    if onnx.exists() and spec_path(onnx).exists() and recorded(onnx):
        return ExportedStep(onnx, read_spec(onnx), info)
    try:
        from ..model.loading import load_model
        from .onnx_export import cached_onnx
    except ImportError as e:
        raise ModelError(f"weights {path} have not been exported to ONNX yet, and that needs PyTorch "
                         f"({e.name} is not installed: pip install 'vdeblur[torch]')") from None
    net, info = load_model(str(path))
    onnx = cached_onnx(net, digest=digest)
    return ExportedStep(onnx, read_spec(onnx), info)
