#!/usr/bin/env python3
"""Write the shipped presets' exported steps beside their weights (vdeblur/model/weights/PRESET.onnx and
PRESET.step.json), so that a run on ONNX Runtime or OpenVINO needs no torch. Run it whenever shipped weights
change; tests/backends/test_shipped_onnx.py fails until it is run.

  python tools/export_onnx.py            # every shipped preset
  python tools/export_onnx.py small
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vdeblur.backends.onnx_export import export_onnx, spec_of  # noqa: E402
from vdeblur.backends.step import write_spec  # noqa: E402
from vdeblur.weights import SHIPPED_STEPS, WEIGHTS_DIR, file_digest_short  # noqa: E402
from vdeblur.model.loading import load_model  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("presets", nargs="*", help=f"shipped presets to export (default: all of {', '.join(SHIPPED_STEPS)})")
    a = ap.parse_args(argv)
    unknown = [p for p in a.presets if p not in SHIPPED_STEPS]
    if unknown:
        ap.error(f"not a shipped preset: {', '.join(unknown)}")
    for preset in a.presets or SHIPPED_STEPS:
        net, _ = load_model(preset)
        onnx = export_onnx(net, WEIGHTS_DIR / f"{preset}.onnx")
        spec = write_spec(onnx, spec_of(net, file_digest_short(WEIGHTS_DIR / f"{preset}.safetensors")))
        print(f"{preset}: {onnx} ({onnx.stat().st_size / 1e6:.1f} MB), {spec}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
