"""Photo corpus split and loading for synthesis."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
# Validation photos are drawn by a hash of the file name, so the split is the same on every machine
# and for copies of the corpus at another resolution. cbsd68 images (481x321) are too small to render a
# 640x360 validation frame from, so they stay on the training side.
_VAL_MODULUS = 7


def list_photos(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"photo folder not found: {folder}")
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise FileNotFoundError(f"no images in {folder}")
    return photos


def is_validation_photo(path: str | Path) -> bool:
    name = Path(path).name
    if name.startswith("cbsd68_"):
        return False
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % _VAL_MODULUS == 0


def split_photos(photos: list[Path]) -> tuple[list[Path], list[Path]]:
    """(train, validation), split by photo."""
    val = [p for p in photos if is_validation_photo(p)]
    train = [p for p in photos if not is_validation_photo(p)]
    return train, val


def read_rgb(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot read image: {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
