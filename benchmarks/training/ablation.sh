#!/usr/bin/env bash
# Equal-compute ablation: the same data, seed, seconds and schedule for each arm, trained side by side (one
# core each, so both see the same machine), validated on the same synthetic sets; curves in OUT/ARM/curve.json.
#   benchmarks/training/ablation.sh SECONDS OUT ARM=ARGS... e.g.
#   benchmarks/training/ablation.sh 600 runs/ablation "scaled=--res-scale" "plain=--no-res-scale"
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=$1; out=$2; shift 2
PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python
[ -d .gpu/photos ] || tools/train_gpu.sh --pack
common=(--preset small --photos .gpu/photos --seconds "$seconds" --device cpu --threads 1 --batch 4 --crop 96
        --seq 4 --lr 2e-3 --warmup 100 --total-iters 4000 --refresh 0.25 --bank 48 --val-every 1000
        --log-every 200 --val-clips 4 --val-frames 6 --val-size 128 224 --seed 0)
for arm in "$@"; do
  name=${arm%%=*}; args=${arm#*=}
  rm -rf "$out/$name"
  # shellcheck disable=SC2086
  $PY tools/train.py "${common[@]}" --state "$out/$name/state" --out "$out/$name" $args > "$out.$name.log" 2>&1 &
done
wait
for arm in "$@"; do
  name=${arm%%=*}
  $PY - "$out/$name/curve.json" "$name" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
for v in c:
    print(f"{sys.argv[2]:8s} step {v['step']:5d}  heavy {v['heavy']['gain']:+.3f}  mild {v['mild']['gain']:+.3f} "
          f"(worst {v['mild']['worst_gain']:+.3f})  sharp {v['sharp']['psnr']:.1f} dB  score {v['score']:+.3f}")
PYEOF
done
