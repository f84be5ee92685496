"""vdeblur: real-time video motion deblurring.

    import vdeblur
    vdeblur.deblur_file("in.mp4", "out.mp4")                  # file to file, shipped `small` weights
    d = vdeblur.Deblurrer.create("small")                       # frame iterator API
    for sharp in d(frames): ...                                 # frames: (H, W, 3) uint8 RGB
"""
from __future__ import annotations

from dataclasses import fields, replace

from .config import Backend, BatchConfig, EncodeConfig, ModelConfig, Precision, RunConfig
from .errors import (BackendError, BatchFailed, BatchInterrupted, DamagedInput, InputError, Interrupted, ModelError,
                     OutputClosed, OutputError, UnknownOption, UsageError, VdeblurError)

__version__ = "0.1.0"


def __getattr__(name: str):
    # Deblurrer needs the network's runtime; imported when first used, so `import vdeblur` and the CLI's
    # start stay light.
    if name == "Deblurrer":
        from .api import Deblurrer

        return Deblurrer
    raise AttributeError(f"module 'vdeblur' has no attribute {name!r}")


def deblur_file(input: str, output: str, run: RunConfig | None = None, **overrides) -> dict:
    """Deblur a video file with the CLI's own configuration; returns the run summary (frames, fps,
    per-stage timing).

    run: a RunConfig to start from (input and output are set from the arguments). overrides: any
    RunConfig field (overwrite=True, compare=True, json_path="run.json", ...), any ModelConfig field
    (backend="torch", device="cpu", precision="fp32", threads=2) or EncodeConfig field (codec, crf, preset,
    pix_fmt, options); model="base" names the weights (ModelConfig.spec).

    Raises a VdeblurError subclass for anything wrong with the input, output, options or model:
    DamagedInput (.summary holds the summary) when the input was damaged or cut short but every frame that
    decoded was written; Interrupted (.summary) after SIGINT/SIGTERM/SIGHUP, the partial output in place.
    """
    from .pipeline import run_file

    cfg = replace(run or RunConfig(input="", output=""), input=str(input), output=str(output))
    return run_file(_configure(cfg, overrides, "deblur_file"))


def deblur_batch(inputs, output_dir: str, batch: BatchConfig | None = None, **overrides) -> dict:
    """Deblur many files (folders expand to their video files) into output_dir over Ray workers, long files
    in chunks, as `vdeblur batch` does (needs `pip install 'vdeblur[ray]'`). Returns the summary (per file,
    per worker, totals).

    batch: a BatchConfig to start from. overrides: any BatchConfig field (workers=2, chunk_s=30,
    ray="local", ...), ModelConfig field or EncodeConfig field, as for deblur_file. Raises a VdeblurError
    subclass; BatchFailed (.summary) when some file failed after the others were done.
    """
    from .batch.run import run_batch

    items = [inputs] if isinstance(inputs, (str, bytes)) or hasattr(inputs, "__fspath__") else inputs
    cfg = replace(batch or BatchConfig(inputs=(), output_dir=""), inputs=tuple(str(i) for i in items),
                  output_dir=str(output_dir))
    return run_batch(_configure(cfg, overrides, "deblur_batch"))


def _configure(cfg, overrides: dict, caller: str):
    """cfg (a RunConfig or BatchConfig) with keyword overrides sorted into it, its ModelConfig and its
    EncodeConfig; model="base" names the weights."""
    top = type(cfg)
    if isinstance(overrides.get("model"), ModelConfig):
        cfg = replace(cfg, model=overrides.pop("model"))
    if isinstance(overrides.get("encode"), EncodeConfig):
        cfg = replace(cfg, encode=overrides.pop("encode"))
    groups: dict[str, dict] = {"top": {}, "model": {}, "encode": {}}
    names = {"top": {f.name for f in fields(top)}, "model": {f.name for f in fields(ModelConfig)},
             "encode": {f.name for f in fields(EncodeConfig)}}
    for key, value in overrides.items():
        if key == "model" and isinstance(value, str):
            groups["model"]["spec"] = value
        else:
            group = next((g for g in ("top", "model", "encode") if key in names[g] - {"model", "encode"}), None)
            if group is None:
                raise UnknownOption(f"{caller}() got an unknown option {key!r}")
            groups[group][key] = value
    if "precision" in groups["model"]:
        try:
            groups["model"]["precision"] = Precision(groups["model"]["precision"])
        except ValueError:
            raise UsageError(f"unknown precision {groups['model']['precision']!r} (one of: "
                             f"{', '.join(p.value for p in Precision)})") from None
    if isinstance(groups["encode"].get("options"), dict):
        groups["encode"]["options"] = tuple(groups["encode"]["options"].items())
    return replace(cfg, **groups["top"], model=replace(cfg.model, **groups["model"]),
                   encode=replace(cfg.encode, **groups["encode"]))


__all__ = ["Backend", "BackendError", "BatchConfig", "BatchFailed", "BatchInterrupted", "DamagedInput", "Deblurrer",
           "EncodeConfig", "InputError", "Interrupted", "ModelConfig", "ModelError", "OutputClosed", "OutputError",
           "Precision", "RunConfig", "UnknownOption", "UsageError", "VdeblurError", "deblur_batch", "deblur_file",
           "__version__"]
