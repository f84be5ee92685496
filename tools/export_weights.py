#!/usr/bin/env python3
"""Ship weights: a trained network (a run's best.safetensors, or a state folder's EMA) to the runtime form,
with a JSON card beside it that says how it was trained and how it measured.

  python tools/export_weights.py runs/small-gpu/best.safetensors --state training/state/small --preset small \
      -o vdeblur/model/weights/small.safetensors --eval-json benchmarks/eval/small.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.model.loading import load_model, save_weights  # noqa: E402
from vdeblur.model.net import PRESETS, count_parameters  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path, help="a .safetensors file, or a state folder (its EMA is shipped)")
    ap.add_argument("--state", type=Path, help="the training state folder whose history goes into the card")
    ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--fp16", action="store_true", help="store weights in float16 (loaded as float32)")
    ap.add_argument("--data", default="../shared/datasets/photos (validation photos held out by name hash)")
    ap.add_argument("--eval-json", type=Path, help="evaluation summary (tools/evaluate.py) to copy into the card")
    a = ap.parse_args(argv)
    src = a.weights
    if src.is_dir():
        src = src / "ema.safetensors" if (src / "ema.safetensors").exists() else src / "model.safetensors"
    net, _ = load_model(str(src))          # folds residual scales: the runtime form
    if net.config != PRESETS[a.preset]:
        raise SystemExit(f"{src} is a {net.config}, not the {a.preset} preset")
    info: dict = {"name": a.output.stem, "preset": a.preset, "parameters": count_parameters(net),
                  "source": str(src), "data": a.data}
    state_dir = a.state or (a.weights if a.weights.is_dir() else None)
    if state_dir is not None:
        state = json.loads((state_dir / "state.json").read_text())
        info.update({"iterations": state.get("step"), "training_seconds": round(state.get("trained_s", 0.0), 1),
                     "runs": state.get("runs", []), "init": state.get("init"),
                     "training_validation": (state.get("history") or [None])[-1]})
    card = a.output.with_suffix(".json")
    if info.get("init") == a.preset and card.exists():
        # Trained on from the weights this replaces: keep their history in the lineage.
        old = json.loads(card.read_text())
        info["lineage"] = [*old.pop("lineage", []), {k: old[k] for k in old if k not in ("evaluation", "config")}]
    if a.eval_json:
        info["evaluation"] = json.loads(a.eval_json.read_text())
    save_weights(net, a.output, info, torch.float16 if a.fp16 else torch.float32)
    a.output.with_suffix(".json").write_text(json.dumps({**info, "config": net.config.to_dict()}, indent=1) + "\n")
    print(f"wrote {a.output} ({a.output.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
