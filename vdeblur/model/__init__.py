"""The deblurring network (pure torch) and its shipped weights. The network is imported on first use, so that
importing a submodule does not import it (vdeblur.weights reads weights files without the network)."""


def __getattr__(name):
    if name in ("PRESETS", "DeblurNet", "NetConfig"):
        from . import net

        return getattr(net, name)
    raise AttributeError(name)


__all__ = ["PRESETS", "DeblurNet", "NetConfig"]
