"""The cache folder and the safe ways to write into it: a private folder per user, atomic writes, a lock per
entry, and a SHA-256 digest recorded beside each model file so that a later run only runs a file a run of
ours wrote. Imports nothing heavy (no torch, no onnx)."""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from ..files import new_file_mode, sha256_file

__all__ = ["atomic_write", "cache_dir", "locked", "private_dir", "record_digest", "recorded", "sha256_file"]


def cache_dir() -> Path:
    """$VDEBLUR_CACHE, else $XDG_CACHE_HOME/vdeblur (~/.cache/vdeblur). Where that cannot be written, a
    per-user folder under the system's temporary directory, with a warning that names the variable."""
    base = Path(os.environ.get("VDEBLUR_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "vdeblur"))
    try:
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK | os.X_OK):
            return base
        problem = "not writable"
    except OSError as e:
        problem = e.strerror or type(e).__name__
    fallback = private_dir(Path(tempfile.gettempdir()) / f"vdeblur-cache-{os.getuid() if hasattr(os, 'getuid') else 'user'}")
    if base not in _WARNED:
        _WARNED.add(base)
        logging.getLogger("vdeblur").warning(
            f"warning: cache directory {base} is unusable ({problem}); caching in {fallback} instead "
            f"(set VDEBLUR_CACHE to choose the cache directory)")
    return fallback


_WARNED: set[Path] = set()


def private_dir(path: Path) -> Path:
    """A folder only this user can write: `path` when it is a real directory (not a link) owned by this user
    with no group or other write access; else (another user's folder planted there, a link, a file) a new
    private folder beside it, with a warning naming `path`. A shared temporary directory must never hand us
    a folder someone else can put a model in."""
    try:
        path.mkdir(mode=0o700)
        return path
    except FileExistsError:
        pass
    except OSError:
        return Path(tempfile.mkdtemp(prefix=path.name + "-"))
    try:
        st = os.lstat(path)
        import stat as st_mod

        if (st_mod.S_ISDIR(st.st_mode) and (not hasattr(os, "getuid") or st.st_uid == os.getuid())
                and not st.st_mode & 0o022):
            return path
    except OSError:
        pass
    fresh = Path(tempfile.mkdtemp(prefix=path.name + "-"))     # created 0700, ours
    logging.getLogger("vdeblur").warning(
        f"warning: {path} is not a private folder of this user (another owner, a link, a file, or writable by "
        f"others): not used; caching in {fresh} for this run")
    return fresh


@contextlib.contextmanager
def locked(path: Path):
    """Exclusive advisory lock on `path` (created if needed) for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            import fcntl
        except ImportError:   # not POSIX: no cross-process lock, builds may repeat but stay atomic
            yield
            return
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def record_digest(path: Path) -> None:
    """Write PATH.sha256 beside a cached model, so a later run only runs the file this one wrote."""
    Path(str(path) + ".sha256").write_text(sha256_file(path) + "\n")


def recorded(path: Path) -> bool:
    try:
        return Path(str(path) + ".sha256").read_text().strip() == sha256_file(path)
    except OSError:
        return False
