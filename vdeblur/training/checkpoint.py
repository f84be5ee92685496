"""Training checkpoints: tensors in safetensors, everything else in JSON (nothing is pickled)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def _atomic_json(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def save_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    meta: dict, optim_dtype: torch.dtype = torch.bfloat16) -> None:
    """Write model.safetensors, optim.safetensors and state.json into folder (each replaced atomically).

    Optimizer moments are stored in bfloat16 by default: half the size, and Adam does not notice the
    rounding; this keeps a checkpoint small enough to move between machines.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
    tmp = folder / "model.safetensors.tmp"
    # The network's config rides along so that `vdeblur run --model RUN/best/model.safetensors` works.
    config = getattr(model, "config", None)
    save_file(tensors, str(tmp), metadata={"vdeblur_config": json.dumps(config.to_dict())} if config else None)
    os.replace(tmp, folder / "model.safetensors")
    scalars: dict = {}
    if optimizer is not None:
        sd = optimizer.state_dict()
        opt_tensors = {}
        for idx, st in sd["state"].items():
            for name, val in st.items():
                if torch.is_tensor(val) and val.dim() > 0:
                    opt_tensors[f"{idx}.{name}"] = val.detach().to(optim_dtype).contiguous().cpu()
                else:
                    scalars[f"{idx}.{name}"] = float(val)
        tmp = folder / "optim.safetensors.tmp"
        save_file(opt_tensors, str(tmp))
        os.replace(tmp, folder / "optim.safetensors")
        meta = {**meta, "optim_scalars": scalars, "optim_groups": [
            {k: v for k, v in g.items() if k != "params"} for g in sd["param_groups"]]}
    _atomic_json(folder / "state.json", meta)


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    device: torch.device) -> dict:
    """Restore model (and optimizer when given and saved); returns the saved meta."""
    meta = json.loads((folder / "state.json").read_text())
    model.load_state_dict(load_file(str(folder / "model.safetensors"), device=str(device)))
    if optimizer is not None and (folder / "optim.safetensors").exists():
        tensors = load_file(str(folder / "optim.safetensors"), device=str(device))
        state: dict = {}
        for key, val in tensors.items():
            idx, name = key.split(".", 1)
            state.setdefault(int(idx), {})[name] = val.float()
        for key, val in meta.get("optim_scalars", {}).items():
            idx, name = key.split(".", 1)
            state.setdefault(int(idx), {})[name] = torch.tensor(val)
        groups = optimizer.state_dict()["param_groups"]
        for g, saved in zip(groups, meta["optim_groups"]):
            g.update({k: v for k, v in saved.items() if k != "params"})
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    return meta
