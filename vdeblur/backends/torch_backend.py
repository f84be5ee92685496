"""PyTorch backend: CPU, or CUDA (fp16 and channels_last there)."""
from __future__ import annotations

import torch

from ..config import ModelConfig, Precision
from ..errors import BackendError
from ..model.loading import load_model
from ..model.net import DeblurNet


class TorchBackend:
    name = "torch"

    def __init__(self, net: DeblurNet, device: torch.device, precision: Precision = Precision.FP32,
                 info: dict | None = None):
        self.device = device
        self.info = info or {}
        fp16 = device.type == "cuda" and precision in (Precision.FP16, Precision.AUTO)
        self.dtype = torch.float16 if fp16 else torch.float32
        self.precision = Precision.FP16 if fp16 else Precision.FP32
        self.net = net.to(device=device, dtype=self.dtype).eval()
        if device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.window = net.window
        self.stride = net.stride
        self.state_names = net.state_names

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
        net, info = load_model(cfg.spec)
        return cls(net, device, cfg.precision, info)

    def init_state(self, h: int, w: int):
        return self.net.init_state(1, h, w, device=self.device, dtype=self.dtype)

    @torch.inference_mode()
    def step(self, window: torch.Tensor, state):
        out, *new_state = self.net(window.to(self.dtype), *state)
        return out.float(), tuple(new_state)

    def close(self) -> None:
        self.net = None
