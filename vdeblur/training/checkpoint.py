"""Training state on disk: tensors in safetensors, everything else in JSON (nothing is pickled).

A state folder holds model.safetensors (fp32, with the network config so `vdeblur run --model` can load
it), ema.safetensors (fp32 weight average), optim.safetensors (AdamW moments in bf16) and state.json
(step, schedule, data settings, validation history). It is small enough to commit (`training/state/`):
when the files would pass `budget_mb`, the first moments are left out (AdamW rebuilds them in a few
dozen steps), then the EMA (re-seeded from the weights on resume), then the second moments (the resumed
run warms up again).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

FILES = ("model.safetensors", "ema.safetensors", "optim.safetensors", "state.json")


def _atomic_save(tensors: dict, path: Path, metadata: dict | None = None) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def _atomic_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def _weights(module: torch.nn.Module) -> dict:
    return {k: v.detach().float().contiguous().cpu() for k, v in module.state_dict().items()}


def save_weights_file(module: torch.nn.Module, path: Path) -> None:
    config = getattr(module, "config", None)
    meta = {"vdeblur_config": json.dumps(config.to_dict())} if config is not None else None
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(_weights(module), path, meta)


def optim_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict, list]:
    """(moments as bf16 tensors by "index.name", scalar state by "index.name", param groups without params)."""
    sd = optimizer.state_dict()
    groups = [{k: v for k, v in g.items() if k != "params"} for g in sd["param_groups"]]
    moments, scalars = {}, {}
    for idx, st in sd["state"].items():
        for name, val in st.items():
            if torch.is_tensor(val) and val.dim() > 0:
                moments[f"{idx}.{name}"] = val.detach().to(torch.bfloat16).contiguous().cpu()
            else:
                scalars[f"{idx}.{name}"] = float(val)
    return moments, scalars, groups


def restore_optim(optimizer: torch.optim.Optimizer, tensors: dict, scalars: dict, saved_groups: list) -> None:
    """Load what optim_tensors wrote; moments it left out start at zero."""
    params = [p for g in optimizer.param_groups for p in g["params"]]
    state: dict = {}
    for key, val in scalars.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = torch.tensor(val)
    for idx in state:
        for name in ("exp_avg", "exp_avg_sq"):
            val = tensors.get(f"{idx}.{name}")
            # empty_like keeps the parameter's memory format: fused AdamW wants channels_last moments
            # for channels_last weights (load_state_dict moves dtype and device, never the layout).
            state[idx][name] = (torch.empty_like(params[idx]).copy_(val) if val is not None
                                else torch.zeros_like(params[idx]))
    groups = optimizer.state_dict()["param_groups"]
    for g, saved in zip(groups, saved_groups):
        g.update({k: v for k, v in saved.items() if k not in ("params", "lr", "fused", "foreach")})
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_aux(folder: Path, name: str, module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """A helper network's weights and optimiser (the GAN discriminator) beside the main state:
    NAME.safetensors, NAME_optim.safetensors (its moments, with the scalars and groups in the metadata)."""
    folder.mkdir(parents=True, exist_ok=True)
    moments, scalars, groups = optim_tensors(optimizer)
    _atomic_save(_weights(module), folder / f"{name}.safetensors")
    _atomic_save(moments, folder / f"{name}_optim.safetensors",
                 {"scalars": json.dumps(scalars), "groups": json.dumps(groups)})


def load_aux(folder: Path, name: str, module: torch.nn.Module, optimizer: torch.optim.Optimizer,
             device: torch.device) -> bool:
    """Restore what save_aux wrote; False when the folder has none (a fresh helper network)."""
    from safetensors import safe_open

    weights, opt = folder / f"{name}.safetensors", folder / f"{name}_optim.safetensors"
    if not weights.exists():
        return False
    module.load_state_dict(load_file(str(weights), device=str(device)))
    if opt.exists():
        with safe_open(str(opt), framework="pt") as f:
            meta = f.metadata() or {}
        restore_optim(optimizer, load_file(str(opt), device=str(device)), json.loads(meta.get("scalars", "{}")),
                      json.loads(meta.get("groups", "[]")))
    return True


def save_state(folder: Path, model: torch.nn.Module, ema: torch.nn.Module | None,
               optimizer: torch.optim.Optimizer | None, meta: dict, budget_mb: float = 25.0) -> dict:
    """Write the state folder (each file replaced atomically; state.json last). Returns what was kept."""
    folder.mkdir(parents=True, exist_ok=True)
    weights_mb = sum(v.numel() for v in model.state_dict().values()) * 4 / 2 ** 20
    moments, scalars, groups = optim_tensors(optimizer) if optimizer is not None else ({}, {}, [])
    kept = {"ema": ema is not None, "exp_avg": True, "exp_avg_sq": bool(moments)}
    size = lambda: weights_mb * (1 + kept["ema"]) + sum(v.numel() * 2 for k, v in moments.items()
                                                        if kept[k.split(".", 1)[1]]) / 2 ** 20
    if size() > budget_mb:
        kept["exp_avg"] = False
    if size() > budget_mb:
        kept["ema"] = False
    if size() > budget_mb:
        kept["exp_avg_sq"] = False
    moments = {k: v for k, v in moments.items() if kept[k.split(".", 1)[1]]}
    save_weights_file(model, folder / "model.safetensors")
    if kept["ema"]:
        save_weights_file(ema, folder / "ema.safetensors")
    elif (folder / "ema.safetensors").exists():
        (folder / "ema.safetensors").unlink()
    if optimizer is not None:
        _atomic_save(moments, folder / "optim.safetensors")
    _atomic_json(folder / "state.json", {**meta, "kept": kept, "optim_scalars": scalars, "optim_groups": groups})
    return kept


def load_state(folder: Path, model: torch.nn.Module, ema: torch.nn.Module | None,
               optimizer: torch.optim.Optimizer | None, device: torch.device) -> dict:
    """Restore what the folder holds; the EMA falls back to the weights, missing moments start at zero.
    Returns state.json's content."""
    meta = json.loads((folder / "state.json").read_text())
    model.load_state_dict(load_file(str(folder / "model.safetensors"), device=str(device)))
    if ema is not None:
        src = folder / "ema.safetensors"
        ema.load_state_dict(load_file(str(src), device=str(device)) if src.exists() else model.state_dict())
    if optimizer is not None and (folder / "optim.safetensors").exists():
        restore_optim(optimizer, load_file(str(folder / "optim.safetensors"), device=str(device)),
                      meta.get("optim_scalars", {}), meta.get("optim_groups", []))
    return meta
