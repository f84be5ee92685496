#!/usr/bin/env python3
"""Train a vdeblur preset; resumes the state folder when it holds a state.

GPU (online synthesis on the device; tools/train_gpu.sh wraps this for the lent machine):
  python tools/train.py --preset small --photos .gpu/photos --state training/state/small --out runs/small
      --seconds 540
CPU fine-tune from pre-rendered clips (tools/synthesize.py):
  python tools/train.py --preset small --data clips/train --state runs/small-cpu/state --out runs/small-cpu
      --init small --crop 128 --batch 8 --iters 3000
Every default comes from vdeblur.training.train.TrainConfig.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.model.net import PRESETS  # noqa: E402
from vdeblur.training.synthesis import PROFILES  # noqa: E402
from vdeblur.training.train import TrainConfig, config_field_defaults, train  # noqa: E402

CHOICES = {"preset": sorted(PRESETS), "profile": sorted(PROFILES), "pixel_loss": ["charbonnier", "psnr"],
           "amp": ["auto", "on", "off"], "compile": ["auto", "on", "off"]}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = config_field_defaults()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--photos", type=Path, help="folder of photographs for online synthesis")
    src.add_argument("--data", type=Path, help="folder of pre-rendered clips from tools/synthesize.py")
    for name, default in defaults.items():
        if name in ("photos", "data", "command"):
            continue
        flag = "--" + name.replace("_", "-")
        required = name in ("preset", "state", "out")
        if name == "val_size":
            ap.add_argument(flag, type=int, nargs=2, default=default, metavar=("H", "W"))
        elif name in ("state", "out"):
            ap.add_argument(flag, type=Path, required=True)
        elif name == "init":
            ap.add_argument(flag, help="fresh state from these weights (preset name or .safetensors)")
        else:
            if isinstance(default, bool):
                ap.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
                continue
            kind = {"preset": str, "seconds": float, "temporal_weight": float, "families": Path}.get(
                name, type(default) if default is not None else int)
            ap.add_argument(flag, type=kind, default=None if required else default, required=required,
                            choices=CHOICES.get(name), help=None if required else f"default {default}")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    a = vars(build_parser().parse_args(args))
    a["val_size"] = tuple(a["val_size"])
    tc = TrainConfig(**a, command=" ".join(shlex.quote(x) for x in ["python", "tools/train.py", *args]))
    train(tc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
