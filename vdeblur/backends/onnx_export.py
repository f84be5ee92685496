"""Export one recurrent step to ONNX: window + state in, frame + state out, dynamic height and width."""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import torch

from ..model.net import DeblurNet
from ..files import new_file_mode

OPSET = 17
# Bumped whenever DeblurNet's exported graph changes for the same weights, so old cached files are not reused.
GRAPH_VERSION = 5


def io_names(net: DeblurNet) -> tuple[list[str], list[str]]:
    """(inputs, outputs): window, h0, c0, ... -> frame, h0_out, c0_out, ..."""
    return ["window", *net.state_names], ["frame", *[f"{n}_out" for n in net.state_names]]


def export_onnx(net: DeblurNet, path: str | Path, height: int = 64, width: int = 64) -> Path:
    """Write the ONNX model atomically (temp file + rename) and check it with onnx.checker.

    net: a DeblurNet (exported in fp32), or a wrapper with the same window/state_names/init_state that
    fixes its own precision (trt_backend's fp16 step)."""
    import onnx

    path = Path(path)
    net = (net.float() if isinstance(net, DeblurNet) else net).eval().cpu()
    window = torch.rand(1, net.window, 3, height, width)
    state = net.init_state(1, height, width)
    inputs, outputs = io_names(net)
    dyn = {"window": {3: "height", 4: "width"}, "frame": {2: "height", 3: "width"}}
    for n in net.state_names:
        dyn[n] = {2: "height8", 3: "width8"}
        dyn[f"{n}_out"] = {2: "height8", 3: "width8"}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=str(path.parent))
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(net, (window, *state), tmp, input_names=inputs, output_names=outputs,
                              dynamic_axes=dyn, opset_version=OPSET, dynamo=False)
        onnx.checker.check_model(onnx.load(tmp))
        os.chmod(tmp, new_file_mode())      # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def weights_digest(net: DeblurNet) -> str:
    h = hashlib.sha256()
    h.update(repr(net.config).encode())
    for k, v in sorted(net.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


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


def cached_onnx(net: DeblurNet, variant: str = "", module=None) -> Path:
    """The step's ONNX file for these weights, exported once and kept in the cache folder.

    variant/module: another form of the same step (e.g. "fp16" and trt_backend's fp16 wrapper)."""
    tag = f"-{variant}" if variant else ""
    path = cache_dir() / "onnx" / f"deblurnet-{weights_digest(net)}-g{GRAPH_VERSION}-op{OPSET}{tag}.onnx"
    # The digest recorded when the file was exported (and checked) stands for the check: a warm start does
    # not import onnx (0.7 s) to check it again.
    if path.exists() and not _recorded(path):
        logging.getLogger("vdeblur").warning(f"warning: cached {path} does not match the digest recorded when it "
                                             f"was written, or is damaged; exporting it again")
    elif path.exists():
        return path
    try:
        export_onnx(module if module is not None else net, path)
        record_digest(path)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            raise
        from .. import files

        for leftover in (path, Path(str(path) + ".sha256")):
            leftover.unlink(missing_ok=True)
        spare = files.work_dir(tempfile.gettempdir(), "vdeblur-onnx-") / path.name
        logging.getLogger("vdeblur").warning(
            f"warning: cannot write the model cache {path.parent} ({e.strerror}); exporting to {spare.parent} "
            f"for this run (set VDEBLUR_CACHE to a folder with room)")
        export_onnx(module if module is not None else net, spare)
        return spare
    return path


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record_digest(path: Path) -> None:
    """Write PATH.sha256 beside a cached model, so a later run only runs the file this one wrote."""
    Path(str(path) + ".sha256").write_text(file_digest(path) + "\n")


def _recorded(path: Path) -> bool:
    try:
        return Path(str(path) + ".sha256").read_text().strip() == file_digest(path)
    except OSError:
        return False
