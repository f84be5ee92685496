"""TensorRT engine cache: key, lock, atomic write, validation. No TensorRT import here, so the logic is
tested on machines without a GPU.

An engine is valid only for the exact ONNX graph, precision, shape profile, TensorRT version and GPU it was
built for; the cache key hashes all five. A cached engine is validated (by the caller's `validate`, which
deserialises it) before use and rebuilt when that fails. Builds are written to a temporary file and renamed,
and an exclusive lock per key makes a second process wait for the first one's build instead of building
the same engine again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..config import ShapeProfile
from .cache import atomic_write, cache_dir, locked, sha256_file

__all__ = ["EngineCache", "EngineSpec", "atomic_write", "default_root", "sha256_file"]

log = logging.getLogger("vdeblur")


@dataclass(frozen=True)
class EngineSpec:
    onnx_sha256: str
    precision: str
    profile: ShapeProfile
    trt_version: str
    gpu_name: str

    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:24]


def default_root() -> Path:
    """$VDEBLUR_ENGINES, else the repository's engines/ in a source checkout, else the user cache."""
    env = os.environ.get("VDEBLUR_ENGINES")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2] / "engines"
    if repo.is_dir() and os.access(repo, os.W_OK):
        return repo
    return cache_dir() / "engines"


class EngineCache:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def path(self, spec: EngineSpec, label: str = "deblurnet") -> Path:
        return self.root / f"{label}-{spec.precision}-{spec.key()}.engine"

    def timing_cache_path(self, spec: EngineSpec) -> Path:
        """One timing cache per TensorRT version and GPU, shared by every engine built there."""
        tag = hashlib.sha256(f"{spec.trt_version}|{spec.gpu_name}".encode()).hexdigest()[:12]
        return self.root / f"timing-{tag}.cache"

    def get_or_build(self, spec: EngineSpec, build: Callable[[bytes | None], tuple[bytes, bytes | None]],
                     validate: Callable[[bytes], object], label: str = "deblurnet"):
        """Return validate(engine bytes) for `spec`, building (and caching) the engine if needed.

        build(timing_cache or None) -> (engine bytes, new timing cache or None).
        validate(engine bytes) -> the deserialised engine; raises when the bytes are unusable.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(spec, label)
        with locked(path.with_suffix(".lock")):
            # Checked inside the lock: another process may have finished this build while we waited.
            if path.exists():
                try:
                    engine = validate(path.read_bytes())
                    log.info(f"TensorRT engine from cache: {path}")
                    return engine
                except Exception as e:
                    log.warning(f"cached TensorRT engine {path} is unusable ({e}); rebuilding")
            tc_path = self.timing_cache_path(spec)
            with locked(tc_path.with_suffix(".lock")):
                timing = tc_path.read_bytes() if tc_path.exists() else None
            log.info(f"building TensorRT engine {path.name} ({spec.precision}, profile {spec.profile}); "
                     "this takes minutes once, then it is cached")
            data, new_timing = build(timing)
            engine = validate(data)
            atomic_write(path, data)
            path.with_suffix(".json").write_text(json.dumps({**asdict(spec), "key": spec.key()}, indent=1))
            if new_timing:
                with locked(tc_path.with_suffix(".lock")):
                    atomic_write(tc_path, new_timing)
            return engine
