"""OUTDIR/.vdeblur-batch/manifest.json: which chunks of which files are finished, so that re-running the
same command skips them. Written by the driver alone (workers hand their chunks back), atomically after
every chunk; a chunk counts as finished only while its file is there with the recorded size and digest.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from .. import files

VERSION = 1


def file_key(path: str) -> str:
    """A short stable name for an input: its absolute path's digest (its chunk folder is named so)."""
    where = path if "://" in path else os.path.abspath(path)
    return hashlib.sha1(where.encode()).hexdigest()[:16]


def input_identity(path: str) -> dict:
    """What must not change between runs for finished chunks to be reused: size and modification time."""
    if "://" in path:
        return {"url": True}
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def settings_digest(**settings) -> str:
    """Digest of everything that shapes the output frames (model weights, encoder, warm-up, chunking)."""
    def plain(v):
        if hasattr(v, "__dataclass_fields__"):
            return asdict(v)
        return v
    text = json.dumps({k: plain(v) for k, v in sorted(settings.items())}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Manifest:
    def __init__(self, outdir: Path):
        self.dir = outdir / ".vdeblur-batch"
        self.path = self.dir / "manifest.json"
        self.data = {"version": VERSION, "files": {}}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                if data.get("version") == VERSION:
                    self.data = data
            except (OSError, ValueError):
                pass                # unreadable: start afresh (chunks are redone, nothing is wrong)

    def chunk_dir(self, key: str) -> Path:
        return self.dir / key

    def entry(self, key: str, input: str, identity: dict, settings: str, output: str, chunks: int) -> dict:
        """The file's entry, emptied where the input, the settings or the chunking changed."""
        e = self.data["files"].get(key)
        if (e is None or e.get("identity") != identity or e.get("settings") != settings
                or e.get("n_chunks") != chunks or e.get("output") != output):
            e = {"input": input, "identity": identity, "settings": settings, "output": output, "n_chunks": chunks,
                 "chunks": {}, "done": False}
            self.data["files"][key] = e
        return e

    def finished(self, key: str, index: int) -> dict | None:
        """The chunk's record if its file is still there, whole."""
        rec = self.data["files"].get(key, {}).get("chunks", {}).get(str(index))
        if rec is None:
            return None
        p = self.chunk_dir(key) / rec["file"]
        try:
            if p.stat().st_size == rec["bytes"]:
                return rec
        except OSError:
            pass
        return None

    def add_chunk(self, key: str, index: int, ext: str, data: bytes, frames: int, **extra) -> Path:
        """Write a finished chunk's file, then record it."""
        folder = self.chunk_dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"chunk-{index:05d}{ext}"
        final = folder / name
        tmp = files.temp_for(final, ext)
        tmp.write_bytes(data)
        os.replace(tmp, final)
        self.data["files"][key]["chunks"][str(index)] = {
            "file": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "frames": frames, **extra}
        self.save()
        return final

    def chunk_paths(self, key: str) -> list[Path]:
        e = self.data["files"][key]
        return [self.chunk_dir(key) / e["chunks"][str(i)]["file"] for i in range(e["n_chunks"])]

    def mark_done(self, key: str, frames: int) -> None:
        e = self.data["files"][key]
        e.update(done=True, frames=frames, chunks={})
        self.save()

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = files.temp_for(self.path, ".json")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)
