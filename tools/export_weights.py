#!/usr/bin/env python3
"""Export a training checkpoint (RUN/best or RUN/last) to shipped weights plus a JSON card beside them.

  python tools/export_weights.py runs/small/best --preset small -o vdeblur/model/weights/small.safetensors \
      --eval-json eval/small.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safetensors.torch import load_file  # noqa: E402

from vdeblur.model.loading import save_weights  # noqa: E402
from vdeblur.model.net import PRESETS, DeblurNet, count_parameters  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path, help="checkpoint folder (model.safetensors + state.json)")
    ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--fp16", action="store_true", help="store weights in float16 (loaded as float32)")
    ap.add_argument("--training-command", default=None, help="command that produced the checkpoint")
    ap.add_argument("--data", default="../shared/datasets/photos (validation photos held out by name hash)")
    ap.add_argument("--eval-json", type=Path, help="evaluation summary to copy into the card")
    a = ap.parse_args(argv)
    state = json.loads((a.checkpoint / "state.json").read_text())
    net = DeblurNet(PRESETS[a.preset])
    net.load_state_dict(load_file(str(a.checkpoint / "model.safetensors")))
    info = {
        "preset": a.preset,
        "parameters": count_parameters(net),
        "iterations": state.get("iteration"),
        "training_seconds": round(state.get("elapsed_s", 0.0), 1),
        "training_command": a.training_command or state.get("command"),
        "data": a.data,
        "training_validation": {k: state[k] for k in ("val_psnr", "val_gain") if k in state},
    }
    if a.eval_json:
        info["evaluation"] = json.loads(a.eval_json.read_text())
    save_weights(net, a.output, info, torch.float16 if a.fp16 else torch.float32)
    a.output.with_suffix(".json").write_text(json.dumps({**info, "config": net.config.to_dict()}, indent=2) + "\n")
    print(f"wrote {a.output} ({a.output.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
