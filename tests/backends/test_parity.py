"""All backends give the same numbers on the same frames, carrying state over several frames."""
from __future__ import annotations

import pytest
import torch

from vdeblur.backends.torch_backend import TorchBackend
from vdeblur.config import Precision
from vdeblur.model.loading import load_model


from clips import run_backend
from clips import step_windows as frames


@pytest.mark.parametrize("module,cls", [("vdeblur.backends.ort_backend", "OrtBackend"),
                                        ("vdeblur.backends.openvino_backend", "OpenVinoBackend")])
def test_cpu_backends_match_torch_fp32(module, cls):
    pytest.importorskip("openvino" if "openvino" in module else "onnxruntime")
    import importlib

    backend = getattr(importlib.import_module(module), cls)
    net, _ = load_model("small")
    ref = run_backend(TorchBackend(net, torch.device("cpu")), frames(8), 72, 104)
    from vdeblur.backends.exported import exported_step

    got = run_backend(backend(exported_step("small")), frames(8), 72, 104)
    diff = max((a - b).abs().max().item() for a, b in zip(ref, got))
    assert diff <= 1e-4


def test_onnx_export_is_valid(tmp_path):
    onnx = pytest.importorskip("onnx")
    from vdeblur.backends.onnx_export import export_onnx, io_names

    net, _ = load_model("small")
    p = export_onnx(net, tmp_path / "small.onnx")
    m = onnx.load(str(p))
    assert [i.name for i in m.graph.input] == io_names(net)[0]
    assert [o.name for o in m.graph.output] == io_names(net)[1]
    assert m.opset_import[0].version >= 17


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_torch_cuda_fp16_close_to_cpu_fp32():
    net, _ = load_model("base")
    wins = frames(8, 192, 320)
    ref = run_backend(TorchBackend(net, torch.device("cpu")), wins, 192, 320)
    got = run_backend(TorchBackend(load_model("base")[0], torch.device("cuda"), Precision.FP16), wins, 192, 320)
    for a, b in zip(ref, got):
        mse = ((a.clamp(0, 1) - b.clamp(0, 1)) ** 2).mean().item()
        assert 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item() >= 40


def test_fp16_typed_onnx_close_to_fp32():
    """The graph TensorRT 11 builds from (fp16 weights and compute, fp32 I/O), checked on ONNX Runtime."""
    ort = pytest.importorskip("onnxruntime")
    from vdeblur.backends.trt_backend import step_onnx

    net, _ = load_model("small")
    sess = ort.InferenceSession(str(step_onnx(net, fp16_graph=True)), providers=["CPUExecutionProvider"])
    assert all(i.type == "tensor(float)" for i in sess.get_inputs())
    ref = run_backend(TorchBackend(net, torch.device("cpu")), frames(8), 72, 104)
    state = [s.numpy() for s in net.init_state(1, 72, 104)]
    for win, r in zip(frames(8), ref):
        out, *state = sess.run(None, {"window": win.numpy(), **dict(zip(net.state_names, state))})
        mse = ((torch.from_numpy(out).clamp(0, 1) - r.clamp(0, 1)) ** 2).mean().item()
        assert 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item() >= 40


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_tensorrt_fp16_close_to_torch_fp32(tmp_path):
    pytest.importorskip("tensorrt")
    from vdeblur.backends.engine_cache import EngineCache
    from vdeblur.backends.trt_backend import TrtBackend
    from vdeblur.config import ShapeProfile

    net, info = load_model("base")
    wins = frames(8, 192, 320)
    ref = run_backend(TorchBackend(net, torch.device("cpu")), wins, 192, 320)
    prof = ShapeProfile(min=(160, 96), opt=(320, 192), max=(640, 384))
    trt_b = TrtBackend(load_model("base")[0], Precision.FP16, prof, info, cache=EngineCache(tmp_path))
    state = trt_b.init_state(192, 320)
    for win, r in zip(wins, ref):
        out, state = trt_b.step(win.cuda(), state)
        assert all(s.is_cuda for s in state)        # the recurrent state never leaves the GPU
        mse = ((out.float().cpu().clamp(0, 1) - r.clamp(0, 1)) ** 2).mean().item()
        assert 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item() >= 40
    # A second backend loads the cached engine instead of building again.
    again = TrtBackend(load_model("base")[0], Precision.FP16, prof, info, cache=EngineCache(tmp_path))
    assert again.engine_path == trt_b.engine_path


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_torch_cuda_graph_replay_matches_eager():
    wins = [w.cuda() for w in frames(8, 96, 160)]
    eager = TorchBackend(load_model("small")[0], torch.device("cuda"), Precision.FP16, cuda_graphs=False)
    graph = TorchBackend(load_model("small")[0], torch.device("cuda"), Precision.FP16)
    for b in (eager, graph):
        b.outs = []
        state = b.init_state(96, 160)
        for i, win in enumerate(wins):
            if i == 4:
                state = b.init_state(96, 160)   # a reset mid-stream must reach the captured graph
            out, state = b.step(win, state)
            b.outs.append(out.float().cpu().clone())
    assert graph.cuda_graphs and graph._graph is not None
    for a, g in zip(eager.outs, graph.outs):
        assert (a - g).abs().max().item() <= 2e-3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_torch_cuda_graph_keeps_interleaved_slots_apart():
    """Two streams (tiles) through one captured graph, interleaved: each matches its own eager run."""
    wins = [w.cuda() for w in frames(6, 96, 160)]
    other = [w.flip(-1).contiguous() for w in wins]
    eager = TorchBackend(load_model("small")[0], torch.device("cuda"), Precision.FP16, cuda_graphs=False)
    graph = TorchBackend(load_model("small")[0], torch.device("cuda"), Precision.FP16)
    ref = {}
    for k, seq in (("a", wins), ("b", other)):
        state = eager.init_state(96, 160)
        ref[k] = []
        for win in seq:
            out, state = eager.step(win, state)
            ref[k].append(out.float().cpu().clone())
    states = {"a": graph.init_state(96, 160, slot=0), "b": graph.init_state(96, 160, slot=1)}
    for i in range(len(wins)):
        for k, seq in (("a", wins), ("b", other)):
            out, states[k] = graph.step(seq[i], states[k])
            assert (out.float().cpu() - ref[k][i]).abs().max().item() <= 2e-3, (k, i)
    assert graph._graph is not None
