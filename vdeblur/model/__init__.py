"""The deblurring network (pure torch) and its shipped weights. The network is imported on first use, so
that vdeblur.model.files (weights without the network) imports no torch."""


def __getattr__(name):
    if name in ("PRESETS", "DeblurNet", "NetConfig"):
        from . import net

        return getattr(net, name)
    raise AttributeError(name)


__all__ = ["PRESETS", "DeblurNet", "NetConfig"]
