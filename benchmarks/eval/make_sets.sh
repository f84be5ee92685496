#!/usr/bin/env bash
# The three validation sets of the quality issue and an independent mild check: 640x360, 24 frames, real
# H.264 at CRF 16-23, rendered from the photos held out of training by name hash (fixed seeds: the same
# clips on every machine).
#   benchmarks/eval/make_sets.sh [PHOTOS] [OUT]     (defaults: ../shared/datasets/photos clips/val)
set -euo pipefail
cd "$(dirname "$0")/../.."
photos=${1:-../shared/datasets/photos}; out=${2:-clips/val}
PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python
$PY tools/synthesize.py photos "$photos" --split val --profile heavy --clips 8 --seed 7 -o "$out/heavy"
$PY tools/synthesize.py photos "$photos" --split val --profile mild --clips 8 --seed 8 -o "$out/mild"
$PY tools/synthesize.py photos "$photos" --split val --profile sharp --clips 3 --seed 11 -o "$out/sharp"
# A fourth set no shipping decision looked at: the same mild profile, another seed (an independent check).
$PY tools/synthesize.py photos "$photos" --split val --profile mild --clips 8 --seed 9 -o "$out/mild2"
