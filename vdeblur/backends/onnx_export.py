"""Export one recurrent step to ONNX: window + state in, frame + state out, dynamic height and width; and
its StepSpec (step.py), written beside it. The torch side of step.py: only exporting needs the network."""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import torch

from ..files import new_file_mode
from ..model.net import DeblurNet
from .cache import cache_dir, record_digest, recorded
from .step import GRAPH_TAG, OPSET, ExportedStep, StepSpec, read_spec, write_spec



def spec_of(net: DeblurNet, digest: str | None = None) -> StepSpec:
    """The StepSpec of a network's step (receptive radius measured once per configuration)."""
    shapes = net.state_shapes(1, net.stride, net.stride)
    return StepSpec(window=net.window, stride=net.stride, state_names=tuple(net.state_names),
                    state_channels=tuple(s[1] for s in shapes), state_scale=net.stride // shapes[0][2],
                    receptive_radius=net.receptive_radius(), width=net.width,
                    digest=digest or weights_digest(net), graph=GRAPH_TAG)


def io_names(net) -> tuple[list[str], list[str]]:
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


def cached_onnx(net: DeblurNet, variant: str = "", module=None, digest: str | None = None) -> Path:
    """The step's ONNX file for these weights, exported once and kept in the cache folder, its StepSpec
    beside it (step.spec_path).

    variant/module: another form of the same step (e.g. "fp16" and trt_backend's fp16 wrapper).
    digest: what names the weights (step.exported_step passes the weights file's; default: the tensors')."""
    tag = f"-{variant}" if variant else ""
    digest = digest or weights_digest(net)
    path = cache_dir() / "onnx" / f"deblurnet-{digest}-{GRAPH_TAG}{tag}.onnx"
    # The digest recorded when the file was exported (and checked) stands for the check: a warm start does
    # not import onnx (0.7 s) to check it again.
    if path.exists() and not recorded(path):
        logging.getLogger("vdeblur").warning(f"warning: cached {path} does not match the digest recorded when it "
                                             f"was written, or is damaged; exporting it again")
    elif path.exists():
        return path
    try:
        export_onnx(module if module is not None else net, path)
        write_spec(path, spec_of(net, digest))
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
        write_spec(spare, spec_of(net, digest))
        return spare
    return path




def step_of(net: DeblurNet, info: dict | None = None) -> ExportedStep:
    """An in-memory network's exported step (cached by its tensors' digest), for tools and tests that train
    or build networks and then run them on the ONNX engines."""
    onnx = cached_onnx(net)
    return ExportedStep(onnx, read_spec(onnx), info or {})
