"""Pre-rendered clip folders: CLIP/blurred.mp4 (H.264 at the clip's CRF), CLIP/sharp.mkv (lossless
RGB H.264), CLIP/meta.json."""
from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from ..colour import ColourSpec, frame_to_rgb, rgb_to_frame


def write_video(path: Path, frames: np.ndarray, *, codec: str, options: dict, pix_fmt: str,
                rate: int = 30) -> None:
    """frames: (T, H, W, 3) uint8 RGB."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = pix_fmt
        s.options = options
        spec = ColourSpec.of(None, None, pix_fmt, s.height)
        if pix_fmt.startswith("yuv"):
            s.codec_context.colorspace = spec.matrix
            s.codec_context.color_range = spec.range
        for i, f in enumerate(frames):
            vf = rgb_to_frame(f, pix_fmt, spec)
            vf.pts = i
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def read_video(path: Path) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB, converted exactly with the stream's own matrix and range (vdeblur.colour)."""
    with av.open(str(path)) as c:
        codec = c.streams.video[0].codec_context.name
        return np.stack([frame_to_rgb(f, codec) for f in c.decode(video=0)])


def save_clip(folder: Path, blurred: np.ndarray, sharp: np.ndarray, crf: int, meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_video(folder / "blurred.mp4", blurred, codec="libx264", pix_fmt="yuv420p",
                options={"crf": str(crf), "preset": "medium"})
    write_video(folder / "sharp.mkv", sharp, codec="libx264rgb", pix_fmt="rgb24",
                options={"crf": "0", "preset": "ultrafast"})
    (folder / "meta.json").write_text(json.dumps({**meta, "crf": crf}, indent=2))


def load_clip_folder(root: Path) -> list[dict]:
    """Every clip under root, decoded into memory: blurred, sharp (T, H, W, 3) uint8 and its meta."""
    clips = []
    for d in sorted(p for p in Path(root).iterdir() if (p / "meta.json").exists()):
        meta = json.loads((d / "meta.json").read_text())
        clips.append({"name": d.name, "blurred": read_video(d / "blurred.mp4"),
                      "sharp": read_video(d / "sharp.mkv"), **meta})
    return clips


def clip_folders(root: Path) -> dict[str, list[Path]]:
    """{family: [clip folder, ...]} of a folder that tools/families.py rendered (ROOT/FAMILY/.../meta.json)."""
    out: dict[str, list[Path]] = {}
    for meta in sorted(Path(root).rglob("meta.json")):
        family = meta.parent.relative_to(root).parts[0]
        out.setdefault(family, []).append(meta.parent)
    return out
