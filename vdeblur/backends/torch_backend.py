"""PyTorch backend: CPU, or CUDA (fp16, channels_last and CUDA-graph replay there).

CUDA graphs: the step at one frame size is captured once and replayed, which removes the per-kernel launch
cost that dominates at these small per-frame workloads (H100, `small` 720p model-only: 430 eager vs
1235 fps replayed, benchmarks/results/gpu_model_h100.json). The graph reads a static window buffer and
static state buffers and writes static outputs, so step() copies the window in (device to device) and
hands back views of the outputs, valid until the next step, as the other backends do.

On the CPU the window comes and the frame goes as numpy arrays (the contract, base.py), shared with torch
without copies.
"""
from __future__ import annotations

import logging

import numpy as np
import torch

from ..config import ModelConfig, Precision
from ..errors import BackendError
from ..model.loading import load_model
from ..model.net import DeblurNet
from .base import NetBackend


log = logging.getLogger("vdeblur")


class TorchBackend(NetBackend):
    name = "torch"

    def __init__(self, net: DeblurNet, device: torch.device, precision: Precision = Precision.FP32,
                 info: dict | None = None, cuda_graphs: bool = True):
        fp16 = device.type == "cuda" and precision in (Precision.FP16, Precision.AUTO)
        self._adopt(net, device, Precision.FP16 if fp16 else Precision.FP32, info)
        self.cuda_graphs = cuda_graphs and device.type == "cuda"
        self._graph = None          # (shape, CUDAGraph, static window, static state, static outputs)
        self.dtype = torch.float16 if fp16 else torch.float32
        self.net = net.to(device=device, dtype=self.dtype).eval()
        if device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> "TorchBackend":
        dev = cfg.device
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        device = torch.device(dev)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise BackendError("device cuda requested but torch sees no CUDA GPU")
        if device.type == "cpu" and cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        if cfg.precision == Precision.INT8:
            raise BackendError("the torch backend runs fp32 or fp16 (int8 is for the CPU backends: "
                               "onnxruntime, openvino)")
        net, info = load_model(cfg.spec)
        return cls(net, device, cfg.precision, info)

    def init_state(self, h: int, w: int, slot: int = 0):
        """A new state each call: the caller owns it (slots need no bookkeeping here)."""
        return self.net.init_state(1, h, w, device=self.device, dtype=self.dtype)

    @torch.inference_mode()
    def step(self, window, state):
        if isinstance(window, np.ndarray):
            out, new_state = self._step(torch.from_numpy(window), state)
            return out.numpy(), new_state
        return self._step(window, state)

    def _step(self, window: torch.Tensor, state):
        if self.cuda_graphs:
            try:
                return self._replay(window, state)
            except RuntimeError as e:   # capture unsupported here: stay correct, run eagerly
                log.warning(f"CUDA graph capture failed ({e}); running the torch backend eagerly")
                self.cuda_graphs = False
                self._graph = None
        out, *new_state = self.net(window.to(self.dtype), *state)
        return out.float(), tuple(new_state)

    def _capture(self, window: torch.Tensor, state) -> None:
        self._graph = None
        win = window.to(self.dtype).clone()
        st = [s.to(self.dtype).clone() for s in state]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):      # warm-up outside the graph (cuDNN autotuning, lazy allocations)
                self.net(win, *st)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outs = self.net(win, *st)
            frame = outs[0].float()
        self._graph = (tuple(window.shape), graph, win, st, frame, list(outs[1:]))

    def _replay(self, window: torch.Tensor, state):
        if self._graph is None or self._graph[0] != tuple(window.shape):
            self._capture(window, state)
        _, graph, win, st, frame, new_state = self._graph
        win.copy_(window)
        for dst, src in zip(st, state):
            if dst.data_ptr() != src.data_ptr():
                dst.copy_(src)
        graph.replay()
        # The graph's outputs are overwritten by the next replay: the new state goes into the tensors the
        # state came in (the caller's, from init_state), so each slot (tile) keeps its own.
        for dst, src in zip(state, new_state):
            dst.copy_(src)
        return frame, tuple(state)

    def close(self) -> None:
        self.net = None
