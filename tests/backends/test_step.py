"""The exported step: the shipped ONNX files agree with their safetensors, specs are checked input, and the
ONNX Runtime / OpenVINO path runs without torch."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from clips import make_clip

from vdeblur.backends.onnx_export import spec_of
from vdeblur.backends.exported import exported_step
from vdeblur.backends.step import StepSpec, read_spec, spec_path
from vdeblur.errors import ModelError
from vdeblur.weights import PRESET_NAMES, SHIPPED_STEPS, WEIGHTS_DIR, file_digest_short
from vdeblur.model.loading import load_model
from vdeblur.model.net import PRESETS

ort = pytest.importorskip("onnxruntime")

# As if torch were not installed: `import torch` fails and importlib.util.find_spec("torch") is None.
NO_TORCH = "import sys; sys.modules['torch'] = None; from vdeblur.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize("preset", SHIPPED_STEPS)
def test_the_shipped_onnx_is_the_shipped_weights(preset):
    """Regenerate with tools/export_onnx.py when this fails: the spec names the weights file's digest, and
    the ONNX computes what the torch network computes, state carried over two steps."""
    onnx = WEIGHTS_DIR / f"{preset}.onnx"
    spec = read_spec(onnx)
    assert spec.digest == file_digest_short(WEIGHTS_DIR / f"{preset}.safetensors"), "stale: run tools/export_onnx.py"
    net, _ = load_model(preset)
    assert spec == spec_of(net, spec.digest)
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    state = [np.zeros(s, np.float32) for s in spec.state_shapes(1, 32, 48)]
    ref_state = net.init_state(1, 32, 48)
    for _ in range(2):
        win = rng.random((1, spec.window, 3, 32, 48), dtype=np.float32)
        frame, *state = session.run(spec.outputs, {"window": win, **dict(zip(spec.state_names, state))})
        with torch.no_grad():
            ref, *ref_state = net(torch.from_numpy(win), *ref_state)
        assert np.abs(frame - ref.numpy()).max() < 1e-4


def test_preset_names_match_the_network_module():
    assert set(PRESET_NAMES) == set(PRESETS)


@pytest.mark.parametrize("change,match", [({"window": 0}, "window"), ({"stride": "8"}, "stride"),
                                          ({"state_names": ["h0"]}, "equal length"),
                                          ({"state_names": ["h0", "x; rm"]}, "equal length"),
                                          ({"version": 99}, "version")])
def test_a_spec_file_is_checked_input(tmp_path, change, match):
    good = read_spec(WEIGHTS_DIR / "small.onnx").to_dict()
    assert StepSpec.from_dict(good) == read_spec(WEIGHTS_DIR / "small.onnx")
    onnx = tmp_path / "m.onnx"
    spec_path(onnx).write_text(json.dumps({**good, **change}))
    with pytest.raises(ModelError, match=match):
        read_spec(onnx)


def test_user_weights_are_exported_once_then_found_without_torch(tiny_weights, tmp_path):
    step = exported_step(str(tiny_weights))
    assert step.spec.digest == file_digest_short(tiny_weights) and step.info["preset"] == "tiny"
    # A second process that has no torch finds the export in the cache (the same VDEBLUR_CACHE).
    clip = tmp_path / "in.mp4"
    make_clip(clip, frames=4, width=64, height=48)
    env = {**os.environ, "VDEBLUR_CACHE": os.environ["VDEBLUR_CACHE"]}
    r = subprocess.run([sys.executable, "-c", NO_TORCH, "run", str(clip), "-o", str(tmp_path / "o.mp4"),
                        "--model", str(tiny_weights), "--backend", "onnxruntime", "--precision", "fp32", "--quiet"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # Weights never exported, without torch: one clear line that names the extra.
    import safetensors
    import safetensors.torch as st

    fresh = tmp_path / "fresh.safetensors"
    with safetensors.safe_open(str(tiny_weights), "np") as f:
        meta = f.metadata()
    st.save_file({k: v + 1 for k, v in st.load_file(str(tiny_weights)).items()}, str(fresh), metadata=meta)
    r = subprocess.run([sys.executable, "-c", NO_TORCH, "run", str(clip), "-o", str(tmp_path / "p.mp4"),
                        "--model", str(fresh), "--backend", "onnxruntime"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "vdeblur[torch]" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "p.mp4").exists()


def test_a_run_on_onnx_runtime_never_imports_torch(tmp_path):
    """The shipped preset, decode -> ONNX Runtime -> encode, in a process where torch cannot be imported."""
    clip = tmp_path / "in.mp4"
    make_clip(clip, frames=6, width=96, height=64)
    out = tmp_path / "out.mp4"
    r = subprocess.run([sys.executable, "-c", NO_TORCH, "run", str(clip), "-o", str(out), "--backend",
                        "onnxruntime", "--precision", "fp32", "--tile", "64"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    import av

    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 6


def test_the_onnx_engines_import_nothing_of_the_network():
    """ONNX Runtime and OpenVINO know only the exported step: importing and opening them loads no module of
    vdeblur.model (nor torch)."""
    pytest.importorskip("openvino")
    code = ("import sys; sys.modules['torch'] = None\n"
            "from vdeblur.backends.ort_backend import OrtBackend\n"
            "from vdeblur.backends.openvino_backend import OpenVinoBackend\n"
            "from vdeblur.backends.exported import exported_step\n"
            "OrtBackend(exported_step('small')).close(); OpenVinoBackend(exported_step('small')).close()\n"
            "bad = sorted(m for m in sys.modules if m.startswith('vdeblur.model'))\n"
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
