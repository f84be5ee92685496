"""Weights files without the network: where a model spec's weights are, their metadata, their digest.
Imports no torch, so a run on ONNX Runtime or OpenVINO reads shipped weights' cards without it."""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from .errors import ModelError
from .files import sha256_file

WEIGHTS_DIR = Path(__file__).parent / "model" / "weights"
SHIPPED = ("small", "base", "sharp")
# Presets whose exported step ships beside their weights (PRESET.onnx, PRESET.step.json). base's would be a
# 13.5 MB copy of its weights in the repository: it is exported once on first use instead (torch, once).
SHIPPED_STEPS = ("small", "sharp")
PRESET_NAMES = ("small", "base", "tiny")     # net.PRESETS keys, the architectures (a test keeps the two equal)


def weights_path(spec: str) -> Path:
    """Path of the weights a model spec names: a shipped preset or a file path."""
    if spec in SHIPPED:
        return WEIGHTS_DIR / f"{spec}.safetensors"
    if spec in PRESET_NAMES:
        raise ModelError(f"preset '{spec}' has no shipped weights (shipped: {', '.join(SHIPPED)})")
    return Path(spec)


def check_exists(spec: str, path: Path) -> None:
    if not path.exists():
        if spec in SHIPPED:
            raise ModelError(f"no weights installed for preset '{spec}' (expected {path})")
        raise ModelError(f"weights file not found: {path}")
    if path.is_dir():
        raise ModelError(f"weights path is a directory: {path}")


def read_metadata(path: Path) -> dict:
    """The safetensors header's metadata (no tensors are read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            meta = dict(f.metadata() or {})
    except Exception as e:  # safetensors raises several types for a bad header or truncated data
        raise ModelError(f"bad weights file {path}: not a readable safetensors file ({e})") from None
    if "vdeblur_config" not in meta:
        raise ModelError(f"bad weights file {path}: no vdeblur_config in its metadata")
    return meta


def read_info(path: Path, spec: str | None = None) -> dict:
    """The weights' info (training card, int8 validation), with "path" added."""
    check_exists(spec if spec is not None else str(path), Path(path))
    try:
        info = json.loads(read_metadata(path).get("vdeblur_info", "{}"))
    except ValueError:
        raise ModelError(f"bad weights file {path}: vdeblur_info is not JSON") from None
    if not isinstance(info, dict):
        raise ModelError(f"bad weights file {path}: vdeblur_info is not a JSON object")
    info["path"] = str(path)
    return info


def file_digest_short(path: Path) -> str:
    """First 16 hex digits of the SHA-256 of the file's bytes: names its exported step in the cache. Kept
    per (path, size, mtime): `auto` opens a backend per candidate, and each asks for it."""
    st = os.stat(path)
    return _digest(os.path.realpath(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)[:16]
