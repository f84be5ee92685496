"""Writing a file so that its path only ever holds a complete file: a temporary beside it, named with the
writing process's PID (so a later run can remove what a killed one left), placed by rename on success.

    temp_for(final, suffix)         a new temporary path beside `final`, created empty
    claimed_by(final)               PIDs of other living processes writing `final` now
    remove_stale(final)             remove temporaries of `final` whose process is dead
    publish(tmp, final, overwrite)  give tmp the mode a new file gets (or the replaced file's), rename it
    disk_error(e, where)            an OSError from writing, as a one-line OutputError (disk full, quota...)
    hold(final)                     a lock on `final` for a whole run: a second run refuses at once
    work_dir(parent, prefix)        a temporary folder named with this host and PID; sweep(parent, prefix)
                                    removes those of dead processes (a killed worker, an interrupted export)
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[^.]+\.partial(?P<suffix>.*)$")
# The writing host, as a tag in temporary names: on a shared (network) folder a PID only means something
# on the host that owns it.
HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks: the one file digest (model cache, weights)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def umask() -> int:
    """The process umask, read without changing it (os.umask would, for a moment, in every thread)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return _UMASK_AT_IMPORT


def _read_umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


_UMASK_AT_IMPORT = _read_umask()


def new_file_mode() -> int:
    """The mode `open(path, "w")` gives a new file: 0666 less the umask (0644 under umask 022)."""
    return 0o666 & ~umask()


def temp_prefix(final: Path) -> str:
    """`.NAME.HOST-PID.`: how this process's temporaries for `final` begin."""
    return f".{final.name}.{HOST}-{os.getpid()}."


def temp_for(final: Path, suffix: str = "") -> Path:
    """An empty temporary file beside `final`: `.NAME.HOST-PID.RANDOM.partialSUFFIX` (hidden, findable)."""
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(final), suffix=f".partial{suffix}",
                               dir=str(final.parent if str(final.parent) else "."))
    os.close(fd)
    return Path(tmp)


def _temps(final: Path) -> list[tuple[Path, str, int]]:
    folder = final.parent if str(final.parent) else Path(".")
    found = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for p in entries:
        m = _TEMP.match(p.name)
        if m and m["name"] == final.name:
            found.append((p, m["host"], int(m["pid"])))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True          # it exists, owned by someone else
    return True


def _other_writer(host: str, pid: int) -> bool:
    """A temporary's owner may still be writing: a living process here, or any process on another host."""
    return host != HOST or (pid != os.getpid() and _alive(pid))


def claimed_by(final: Path) -> list[int]:
    """PIDs of other processes that may be writing `final` now (those of other hosts included)."""
    return sorted({pid for _, host, pid in _temps(final) if _other_writer(host, pid)})


def remove_stale(final: Path) -> list[Path]:
    """Remove the temporaries of `final` left by processes that no longer run (SIGKILL, power loss)."""
    removed = []
    for p, host, pid in _temps(final):
        if host == HOST and pid != os.getpid() and not _alive(pid):
            try:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def publish(tmp: Path, final: Path, overwrite: bool) -> None:
    """Put the finished `tmp` at `final`. The file gets the mode a new file gets under the umask, or keeps
    the mode of the file it replaces. Without overwrite it never replaces a file that appeared meanwhile
    (a hard link is an atomic no-clobber rename)."""
    try:
        mode = stat.S_IMODE(final.stat().st_mode)
    except OSError:
        mode = new_file_mode()
    os.chmod(tmp, mode)
    if overwrite:
        os.replace(tmp, final)
        return
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise OutputError(f"output exists: {final} (it appeared while this run was writing; "
                          f"nothing was replaced)") from None
    except OSError:
        if final.exists():      # a filesystem without hard links: best effort
            raise OutputError(f"output exists: {final} (it appeared while this run was writing)") from None
        os.replace(tmp, final)
        return
    tmp.unlink()


_DISK = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only filesystem",
         errno.EIO: "I/O error", errno.EFBIG: "file too large for the filesystem"}


def disk_error(e: BaseException, where: Path) -> OutputError | None:
    """A one-line OutputError for a write that failed for lack of space (or a similar disk condition),
    naming the filesystem and its free space; None for other errors."""
    code = getattr(e, "errno", None)
    if code not in _DISK:
        return None
    folder = where.parent if str(where.parent) else Path(".")
    try:
        free = shutil.disk_usage(folder).free
        room = f", {free / 1e6:.1f} MB free"
    except OSError:
        room = ""
    return OutputError(f"{_DISK[code]} writing {where} (filesystem of {folder.resolve()}{room}); "
                       f"nothing was written at the output path")


def lock_path(final: Path) -> Path:
    return (final.parent if str(final.parent) else Path(".")) / f".{final.name}.lock"


@contextmanager
def hold(final: Path):
    """Hold `final` for the run: `.NAME.lock` beside it, created atomically (O_EXCL, which also holds on a
    folder shared between hosts) and naming this host and PID. While it exists another run refuses at once,
    with or without -y; a lock whose process is gone (on this host) is taken over."""
    lock = lock_path(final)
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _stale(lock):
                try:
                    lock.unlink()
                except FileNotFoundError:
                    pass
                continue
            owner = _owner(lock)
            who = (f"PID {owner[1]}" + ("" if owner[0] == HOST else " on another host")) if owner else "another run"
            raise OutputError(f"{final} is being written by another run ({who}); wait for it, or choose "
                              f"another output (if that run is gone, delete {lock})") from None
        except OSError as e:
            raise OutputError(f"cannot lock {final}: {e.strerror or e}") from None
        with os.fdopen(fd, "w") as f:
            f.write(f"{HOST} {os.getpid()}\n")
        break
    else:
        raise OutputError(f"cannot lock {final}: {lock} keeps reappearing")
    try:
        yield lock
    finally:
        if _owner(lock) == (HOST, os.getpid()):
            lock.unlink(missing_ok=True)


def _owner(lock: Path) -> tuple[str, int] | None:
    try:
        host, pid = lock.read_text().split()
        return host, int(pid)
    except (OSError, ValueError):
        return None


def _stale(lock: Path) -> bool:
    """A lock left by a process that no longer runs on this host (or an empty one over a minute old: its
    writer died between creating and filling it)."""
    owner = _owner(lock)
    if owner is None:
        try:
            return time.time() - lock.stat().st_mtime > 60
        except OSError:
            return True
    host, pid = owner
    return host == HOST and pid != os.getpid() and not _alive(pid)


_WORK = re.compile(r"^(?P<prefix>.*?)(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[^-]+$")


def work_dir(parent: Path | str, prefix: str) -> Path:
    """A new private folder `PREFIX HOST-PID-RANDOM` in parent, for a process's scratch files; sweep() removes
    it once that process is gone, whoever finds it. Old leftovers without a PID are swept after a day."""
    parent = Path(parent)
    sweep(parent, prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{HOST}-{os.getpid()}-", dir=str(parent)))


def sweep(parent: Path, prefix: str, max_age_s: float = 86400) -> list[Path]:
    removed = []
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for p in entries:
        m = _WORK.match(p.name)
        try:
            if m and m["prefix"] == prefix:
                stale = m["host"] == HOST and int(m["pid"]) != os.getpid() and not _alive(int(m["pid"]))
            else:
                stale = time.time() - p.lstat().st_mtime > max_age_s
            if stale and p.is_dir() and not p.is_symlink() and p.lstat().st_uid == os.getuid():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
        except OSError:
            pass
    return removed
