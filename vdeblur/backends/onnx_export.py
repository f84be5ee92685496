"""Export one recurrent step to ONNX: window + state in, frame + state out, dynamic height and width."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

from ..model.net import DeblurNet

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
    base = os.environ.get("VDEBLUR_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "vdeblur")
    return Path(base)


def cached_onnx(net: DeblurNet, variant: str = "", module=None) -> Path:
    """The step's ONNX file for these weights, exported once and kept in the cache folder.

    variant/module: another form of the same step (e.g. "fp16" and trt_backend's fp16 wrapper)."""
    tag = f"-{variant}" if variant else ""
    path = cache_dir() / "onnx" / f"deblurnet-{weights_digest(net)}-g{GRAPH_VERSION}-op{OPSET}{tag}.onnx"
    if not path.exists():
        export_onnx(module if module is not None else net, path)
    return path
