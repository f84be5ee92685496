"""Architectures by name: the network class that weights were trained with, as their safetensors metadata
names it (`vdeblur_arch`; weights without it are DeblurNet's). A second network is one module and one
register() call; everything after loading (export, engines, pipeline) goes by the step's contract:

    net.window, net.stride, net.state_names, net.state_shapes(n, h, w), net.receptive_radius(), net.width,
    net.init_state(n, h, w), net(window, *state) -> (frame, *state), net.config (to_dict / from_dict)
"""
from __future__ import annotations

from typing import Callable

_ARCHITECTURES: dict[str, tuple[Callable, Callable]] = {}
DEFAULT = "deblurnet"


def register(name: str, build: Callable, parse_config: Callable) -> None:
    """build(config) -> network; parse_config(dict) -> config (checked, bounded: weights are input)."""
    _ARCHITECTURES[name] = (build, parse_config)


def architecture(name: str) -> tuple[Callable, Callable]:
    if name not in _ARCHITECTURES:
        raise KeyError(f"unknown architecture {name!r} (known: {', '.join(sorted(_ARCHITECTURES))})")
    return _ARCHITECTURES[name]


def _register_builtins() -> None:
    from .guard import GuardedConfig, GuardedNet
    from .net import DeblurNet, NetConfig

    register(DEFAULT, DeblurNet, NetConfig.from_dict)
    register("deblurnet+guard", GuardedNet, GuardedConfig.from_dict)


_register_builtins()
