"""One rule for every path a run writes (OUTPUT, --explain, --json, --report), checked before any work.

A written path is never an input of the run nor another of its outputs, judged by identity (the same file
through a symbolic or hard link, `./`, `..`), not by spelling; its folder exists and is writable; its name,
with the temporary it is first written to, fits the filesystem; its extension fits what is written there;
an existing file is replaced only with overwrite (-y); `-` is standard output where a run can write there
(--json).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError, UsageError
from .urls import is_url, pipe_target

STDOUT = "-"
# What the temporary beside a file adds to its name (files.temp_for): ".", ".HOST-PID.", 8 random, ".partial"
# and the suffix again.
TEMP_EXTRA = 1 + 1 + 8 + 1 + 7 + 1 + 8 + 8
REPORT_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")


@dataclass(frozen=True)
class Written:
    """A path the run writes. role: how the user named it (OUTPUT, --json...). suffixes: the extensions
    allowed (None: the sink checks its own). stdout: whether `-` means standard output."""

    role: str
    path: str
    suffixes: tuple[str, ...] | None = None
    stdout: bool = False
    is_pattern: bool = False     # an image-sequence pattern: its folder is what must be writable


def identity(path: str) -> tuple:
    """What a path designates: (device, inode) of an existing file, through any links; for a file still
    to be made, ("new", the real path of its folder, its name). A dangling symbolic link designates its
    target."""
    try:
        st = os.stat(path)
        return ("file", st.st_dev, st.st_ino)
    except OSError:
        pass
    p = Path(os.path.realpath(path))       # follows links, the dangling last one included
    return ("new", str(p.parent), p.name)


def pattern_identity(path: str) -> tuple:
    """An image-sequence pattern (frames/%06d.png) is its folder's identity and its name."""
    folder = os.path.dirname(path) or "."
    return ("pattern", identity(folder), os.path.basename(path))


def _input_identity(path: str) -> tuple | None:
    from .source import image_sequence

    if path == STDOUT or pipe_target(path, 0) or is_url(path):
        return None
    try:
        if image_sequence(path) is not None:
            return pattern_identity(path)
    except Exception:  # noqa: BLE001 - no images there: nothing to protect
        return None
    return identity(path) if os.path.exists(path) else None


def name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_written(inputs: list[str], written: list[Written], overwrite: bool) -> None:
    """Raise OutputError/UsageError for the first written path that breaks the rule (module docstring)."""
    seen: dict[tuple, str] = {}
    ins = {i: p for p in inputs if p for i in [_input_identity(p)] if i is not None}
    for w in written:
        target = pipe_target(w.path, 1)
        if target is not None and target != "pipe:1":
            continue        # another descriptor the caller opened: nothing of ours to check
        if target == "pipe:1":
            if not w.stdout:
                raise UsageError(f"{w.role} cannot be written to standard output")
            if "stdout" in seen:
                raise UsageError(f"{w.role} and {seen['stdout']} both write to standard output")
            seen["stdout"] = w.role
            continue
        if is_url(w.path):
            continue
        target = Path(w.path).parent if w.is_pattern else Path(w.path)
        if os.path.islink(target) and not os.path.exists(target):
            raise OutputError(f"{w.role} {w.path} is a symbolic link to nothing ({os.readlink(target)}); "
                              f"remove it or name another path")
        ident = pattern_identity(w.path) if w.is_pattern else identity(str(target))
        if ident in ins:
            raise OutputError(f"{w.role} {w.path} is the input {ins[ident]} (the same file); nothing was written")
        if ident in seen:
            raise OutputError(f"{w.role} {w.path} is the same file as {seen[ident]}; give each output its own path")
        seen[ident] = w.role
        if w.is_pattern:
            continue
        _check_file(w, Path(w.path), overwrite)


def _check_file(w: Written, p: Path, overwrite: bool) -> None:
    if p.is_dir():
        raise OutputError(f"{w.role} is a directory: {p}")
    if w.suffixes is not None and p.suffix.lower() not in w.suffixes:
        raise OutputError(f"{w.role} {p} needs the extension {' or '.join(w.suffixes)}")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{w.role}: folder does not exist: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{w.role}: folder is not writable: {folder}")
    limit = name_max(folder)
    size = len(os.fsencode(p.name))
    if size + len(os.fsencode(p.suffix)) + TEMP_EXTRA > limit:
        raise OutputError(f"{w.role}: the name is too long for the filesystem ({size} bytes; at most "
                          f"{limit - TEMP_EXTRA - len(os.fsencode(p.suffix))} here): {p.name[:40]}...")
    if p.exists() and not overwrite:
        raise OutputError(f"{w.role} exists: {p} (overwrite it with -y, or overwrite=True from Python)")
