"""The deblurring network (pure torch) and its shipped weights."""
from .net import PRESETS, DeblurNet, NetConfig

__all__ = ["PRESETS", "DeblurNet", "NetConfig"]
