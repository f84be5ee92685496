"""INT8: what stays fp32, the cache, the quality against fp32 with the state carried, and who runs it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vdeblur.backends import open_backend
from vdeblur.backends.base import cpu_precision, int8_validated
from vdeblur.config import ModelConfig, Precision
from vdeblur.errors import BackendError
from vdeblur.backends.exported import exported_step
from vdeblur.model.loading import load_model

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from vdeblur.backends import quantize  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "blurred.mp4"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def test_output_path_and_lstm_memory_stay_fp32(tiny_weights):
    path = quantize.cached_int8(exported_step(str(tiny_weights)))
    m = onnx.load(str(path))
    producer = {o: n for n in m.graph.node for o in n.output}
    # The state outputs and the frame are written by float ops, not by a DequantizeLinear of an 8-bit tensor.
    for name in ("frame", "c0_out"):
        assert producer[name].op_type == "Add", name
    assert any(n.op_type == "QuantizeLinear" for n in m.graph.node)
    head = [n for n in m.graph.node if n.op_type == "Conv" and "head" in n.name]
    weights = {i.name for i in m.graph.initializer}
    assert head and head[0].input[1] in weights      # float weights (a quantized conv reads a DequantizeLinear)


def test_cached_once_and_keyed_on_reduce_range(tiny_weights, monkeypatch):
    step = exported_step(str(tiny_weights))
    a = quantize.cached_int8(step, reduce_range=False)
    calls = []
    monkeypatch.setattr(quantize, "quantize_onnx", lambda *a, **k: calls.append(1))
    assert quantize.cached_int8(step, reduce_range=False) == a and not calls
    assert "-rr-" in quantize.int8_path(step, quantize.calibration_videos(), True).name


def test_calibration_source_errors(tmp_path):
    with pytest.raises(BackendError, match="not found"):
        quantize.calibration_videos(tmp_path / "missing")
    with pytest.raises(BackendError, match="no videos"):
        quantize.calibration_videos(tmp_path)
    assert len(quantize.calibration_videos()) == 6


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_int8_within_40db_of_fp32_over_24_frames(backend):
    """The shipped small in int8 against fp32, state carried over a 24-frame 640x360 clip (not a
    calibration clip; heavy blur, up to 60 px): the clip's PSNR >= 40 dB (the issue's measure), and no
    frame below 36 dB."""
    if backend == "openvino":
        pytest.importorskip("openvino")
    from vdeblur.deblurrer import Deblurrer
    from vdeblur.training.clips import read_video

    frames = read_video(EXAMPLE)
    assert len(frames) >= 24
    out = {}
    for p in ("fp32", "int8"):
        d = Deblurrer(open_backend(ModelConfig(backend=backend, precision=Precision(p))), scene_cut=False)
        out[p] = [d.process(np.ascontiguousarray(f)) for f in frames]
        d.close()
    clip = psnr(np.stack(out["fp32"]), np.stack(out["int8"]))
    worst = min(psnr(a, b) for a, b in zip(out["fp32"], out["int8"]))
    assert clip >= 40.0 and worst >= 36.0, (clip, worst)


def test_auto_precision_runs_int8_only_for_validated_weights(tiny_weights):
    _, small_info = load_model("small")
    _, tiny_info = load_model(str(tiny_weights))
    assert int8_validated(small_info) and not int8_validated(tiny_info)
    assert cpu_precision(Precision.AUTO, small_info, "onnxruntime") == Precision.INT8
    assert cpu_precision(Precision.AUTO, tiny_info, "onnxruntime") == Precision.FP32
    # sharp's int8 missed the 40 dB line on one validation clip (39.7 dB): auto keeps it in fp32.
    assert not int8_validated(load_model("sharp")[1])
    with pytest.raises(BackendError, match="fp32 or int8"):
        cpu_precision(Precision.FP16, small_info, "onnxruntime")


def test_gpu_backends_refuse_int8():
    with pytest.raises(BackendError, match="int8 is for the CPU backends"):
        open_backend(ModelConfig(backend="torch", device="cpu", precision=Precision.INT8))


def test_export_int8(tmp_path, tiny_weights):
    import onnxruntime as ort

    from vdeblur.cli import main

    out = tmp_path / "tiny8.onnx"
    assert main(["export", "--model", str(tiny_weights), "--precision", "int8", "-o", str(out)]) == 0
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(out)).graph.node)
    assert [i.name for i in sess.get_inputs()] == ["window", "h0", "c0"]
    assert main(["export", "--model", str(tiny_weights), "--precision", "int8", "-o", str(out)]) == 2
