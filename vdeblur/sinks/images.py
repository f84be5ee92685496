"""Image-sequence sink: `-o frames/%06d.png` writes one image per frame (PNG, TIFF, JPEG or BMP, 8-bit RGB),
numbered from 1 as FFmpeg's image2 does, plus `timestamps.csv` (frame, pts, seconds) so the timing of
every frame (VFR included) survives. Audio and subtitles cannot be held and are not written.

The images go to a hidden folder beside the destination folder and are moved into it on close (also
after Ctrl-C: what was processed is kept); abort() removes the hidden folder.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..errors import OutputError
from ..urls import is_url
from .. import files

log = logging.getLogger("vdeblur")
SUFFIXES = {".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp"}
_FIELD = re.compile(r"%0?\d*d")


def matches(output: str) -> bool:
    return not is_url(output) and Path(output).suffix.lower() in SUFFIXES and bool(_FIELD.search(Path(output).name))


def check_output(input_path: str, output: str, overwrite: bool) -> Path:
    pattern = Path(output)
    if len(_FIELD.findall(pattern.name)) != 1 or "%" in _FIELD.sub("", pattern.name):
        raise OutputError(f"an image-sequence name needs exactly one %d field (e.g. %06d.png): {pattern.name}")
    folder = pattern.parent if str(pattern.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"not a directory: {folder}")
    parent = folder.parent if folder.exists() is False else folder
    if not parent.is_dir():
        raise OutputError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output directory is not writable: {parent}")
    if folder.is_dir() and not overwrite:
        glob = _FIELD.sub("*", pattern.name)
        if any(folder.glob(glob)):
            raise OutputError(f"{folder} already holds images named {glob} (use -y to overwrite)")
    return pattern


def _numbered(pattern: str, name: str) -> bool:
    """Whether `name` is `pattern` with a number in its %d field (frame_000012.png for frame_%06d.png)."""
    head, tail = _FIELD.split(pattern, maxsplit=1)
    return name.startswith(head) and name.endswith(tail) and name[len(head):len(name) - len(tail)].isdigit()


class ImageSequenceSink:
    def __init__(self, pattern: Path, info, enc, width: int, height: int, passthrough: list, live: bool = False,
                 overwrite: bool = True, left_out: list = ()):
        self.pattern = pattern
        self.overwrite = overwrite
        self.folder = pattern.parent if str(pattern.parent) else Path(".")
        self.info = info
        self.frames = 0
        anchor = self.folder.parent if not self.folder.exists() else self.folder
        # Named like files.temp_for's, so a later run removes what a killed one left.
        marker = anchor / self.folder.resolve().name
        files.remove_stale(marker)
        self.tmp = Path(tempfile.mkdtemp(prefix=files.temp_prefix(marker), suffix=".partial", dir=anchor))
        self._times = open(self.tmp / "timestamps.csv", "w")
        self._times.write("frame,pts,seconds\n")
        if passthrough or left_out:
            log.warning(f"warning: {len(passthrough) + len(left_out)} audio/subtitle/other stream(s) are not written "
                        f"to an image sequence")

    def write_frame(self, rgb: np.ndarray, pts: int) -> None:
        self.frames += 1
        name = self.pattern.name % self.frames
        if not cv2.imwrite(str(self.tmp / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OutputError(f"cannot write {self.folder / name}")
        seconds = float(pts * self.info.time_base) if pts is not None else float("nan")
        self._times.write(f"{self.frames},{pts},{seconds:.6f}\n")

    def write_packet(self, packet) -> None:
        pass

    def close(self) -> Path:
        self._times.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.overwrite:      # a shorter rerun must not leave the old run's later images beside its own
            new = {f.name for f in self.tmp.iterdir()}
            for old in self.folder.glob(_FIELD.sub("*", self.pattern.name)):
                if old.name not in new and old.is_file() and _numbered(self.pattern.name, old.name):
                    old.unlink()
        for f in sorted(self.tmp.iterdir()):
            os.replace(f, self.folder / f.name)
        self.tmp.rmdir()
        return self.pattern

    def salvage(self) -> int:
        """Keep the images written so far (every one is complete)."""
        self.close()
        return self.frames

    def abort(self) -> None:
        try:
            self._times.close()
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)
