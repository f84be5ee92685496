#!/usr/bin/env python3
"""Weights between two of the same preset: (1 - alpha) * BASE + alpha * TUNED, tensor by tensor (weight-space
ensembling of a fine-tune with the weights it started from, after Wortsman et al. 2022, "Robust fine-tuning
of zero-shot models"). A fine-tune that gains on some families and loses on others often keeps most of the
gains and few of the losses part of the way.

  # the network alone on every validation family, for several alphas (no encode; a few seconds each)
  python tools/interpolate_weights.py small runs/small-noharm/best.safetensors --sweep 0.1,0.2,0.3 \
      --families clips/families
  # write one, then judge it through the pipeline: tools/families.py eval + rule
  python tools/interpolate_weights.py small runs/small-noharm/best.safetensors --alpha 0.2 -o cand.safetensors
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.model.loading import load_model, save_weights  # noqa: E402


def interpolate(base: torch.nn.Module, tuned: torch.nn.Module, alpha: float) -> dict:
    """The state dict (1 - alpha) * base + alpha * tuned (integer buffers from base)."""
    b, t = base.state_dict(), tuned.state_dict()
    if b.keys() != t.keys() or any(b[k].shape != t[k].shape for k in b):
        raise SystemExit("the two weights are not the same network (preset and architecture must match)")
    return {k: torch.lerp(b[k], t[k], alpha) if b[k].is_floating_point() else b[k] for k in b}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", help="a preset name or .safetensors (alpha 0)")
    ap.add_argument("tuned", help="a preset name or .safetensors (alpha 1)")
    ap.add_argument("--alpha", type=float, help="where between them, 0..1")
    ap.add_argument("-o", "--output", type=Path)
    ap.add_argument("--sweep", help="comma-separated alphas: the network alone on --families, no file written")
    ap.add_argument("--families", type=Path, help="validation families (tools/families.py render)")
    a = ap.parse_args(argv)
    base, base_info = load_model(a.base)
    tuned, tuned_info = load_model(a.tuned)
    net, _ = load_model(a.base)
    if a.sweep:
        from vdeblur.training.validate import load_family_sets, validate

        if a.families is None:
            ap.error("--sweep needs --families")
        sets = load_family_sets(a.families)
        for alpha in (float(x) for x in a.sweep.split(",")):
            net.load_state_dict(interpolate(base, tuned, alpha))
            v = validate(net.eval(), sets, None)
            print(f"alpha {alpha:.2f}: " + ", ".join(f"{k} {r['gain']:+.3f} ({r['worst_gain']:+.3f})"
                                                   for k, r in v.items() if k != "score"), flush=True)
        return 0
    if a.alpha is None or a.output is None or not 0 <= a.alpha <= 1:
        ap.error("give --alpha in [0, 1] and -o, or --sweep")
    net.load_state_dict(interpolate(base, tuned, a.alpha))
    save_weights(net, a.output, {"interpolated": {"base": a.base, "tuned": a.tuned, "alpha": a.alpha},
                                 "base_info": base_info, "tuned_info": tuned_info})
    print(f"wrote {a.output}: {1 - a.alpha:g} x {a.base} + {a.alpha:g} x {a.tuned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
