"""Shared fixtures: small synthetic clips and a tiny random network (tests only)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from vdeblur.model.loading import save_weights  # noqa: E402
from vdeblur.model.net import PRESETS, DeblurNet  # noqa: E402


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A tiny randomly initialised network saved as weights (tests only, never shipped)."""
    torch.manual_seed(0)
    net = DeblurNet(PRESETS["tiny"])
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_weights(net, path, {"preset": "tiny", "note": "random test network"})
    return path


@pytest.fixture
def clip(tmp_path) -> Path:
    from clips import make_clip

    p = tmp_path / "in.mp4"
    make_clip(p)
    return p


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("VDEBLUR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
