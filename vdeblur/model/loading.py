"""Load a DeblurNet from shipped weights or a user's .safetensors file (never unpickles)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import ModelError
from . import registry
from ..weights import SHIPPED, WEIGHTS_DIR, check_exists, weights_path
from .net import DeblurNet

__all__ = ["SHIPPED", "WEIGHTS_DIR", "load_model", "save_weights", "update_info", "weights_path"]


def load_model(spec: str, device: str | torch.device = "cpu") -> tuple[DeblurNet, dict]:
    """(network in eval mode, metadata) for a preset name or a .safetensors path."""
    path = weights_path(spec)
    check_exists(spec, path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for a bad header or truncated data
        raise ModelError(f"bad weights file {path}: not a readable safetensors file ({e})") from None
    if "vdeblur_config" not in meta:
        raise ModelError(f"bad weights file {path}: no vdeblur_config in its metadata")
    arch = meta.get("vdeblur_arch", registry.DEFAULT)
    try:
        build, parse_config = registry.architecture(arch)
        net = build(parse_config(json.loads(meta["vdeblur_config"])))
        net.load_state_dict({k: v.float() for k, v in tensors.items()})
    except Exception as e:
        raise ModelError(f"bad weights file {path}: does not match a {arch} network ({e})") from None
    if hasattr(net, "folded"):
        net = net.folded()   # a training state's weights carry residual scales; the runtime form has none
    info = json.loads(meta.get("vdeblur_info", "{}"))
    info["path"] = str(path)
    return net.eval().to(device), info


def save_weights(net: DeblurNet, path: Path, info: dict, dtype: torch.dtype = torch.float32,
                 arch: str = registry.DEFAULT) -> None:
    """Write weights with the config, the architecture's registered name (and free-form info) in the
    safetensors metadata."""
    tensors = {k: v.detach().to(dtype).contiguous().cpu() for k, v in net.state_dict().items()}
    meta = {"vdeblur_config": json.dumps(net.config.to_dict()), "vdeblur_info": json.dumps(info),
            "vdeblur_arch": arch}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)


def update_info(path: Path, **entries) -> None:
    """Add entries to a weights file's info (its safetensors metadata and the JSON card beside it); the
    tensors are written back unchanged."""
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt", device="cpu") as f:
        meta = dict(f.metadata() or {})
    tensors = load_file(str(path))
    info = json.loads(meta.get("vdeblur_info", "{}"))
    info.update(entries)
    meta["vdeblur_info"] = json.dumps(info)
    save_file(tensors, str(path), metadata=meta)
    card = Path(path).with_suffix(".json")
    if card.exists():
        data = json.loads(card.read_text())
        data.update(entries)
        card.write_text(json.dumps(data, indent=1) + "\n")


def save_weights_file_plain(module: torch.nn.Module, path: Path, metadata: dict | None = None) -> None:
    """A helper network's weights (float32) with free-form string metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().float().contiguous().cpu() for k, v in module.state_dict().items()}, str(path),
              metadata=metadata)
