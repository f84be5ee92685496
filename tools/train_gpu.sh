#!/usr/bin/env bash
# Trains `small` and `base` side by side on one GPU from photos in .gpu/photos, resuming from
# .gpu/runs when present. Used on the lent GPU machine; the figures in vdeblur/model/weights/*.json
# name the exact commands. Usage: tools/train_gpu.sh STOP_AFTER_S TIME_BUDGET_S OUTDIR
set -euo pipefail
stop=${1:-450}; budget=${2:-900}; out=${3:-runs}
export PYTHONUNBUFFERED=1
mkdir -p "$out"
if [ -d .gpu/runs ]; then cp -r .gpu/runs/. "$out"/; fi
python3 tools/train.py --preset small --photos .gpu/photos --out "$out/small" --time-budget-s "$budget" \
  --stop-after-s "$stop" --batch 32 --crop 256 --seq 8 --lr 2e-3 --val-every 400 > "$out/small.out" 2>&1 &
python3 tools/train.py --preset base --photos .gpu/photos --out "$out/base" --time-budget-s "$budget" \
  --stop-after-s "$stop" --batch 16 --crop 256 --seq 8 --lr 1e-3 --val-every 400 > "$out/base.out" 2>&1 &
wait
