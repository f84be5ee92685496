#!/usr/bin/env bash
# One command to continue training a preset from its committed state (training/state/PRESET).
#
#   tools/train_gpu.sh --pack                 # here, once: photos (long side 640) into .gpu/photos
#   tools/train_gpu.sh PRESET SECONDS         # on the GPU machine (device tool: carry .gpu), or any CUDA box
#   tools/train_gpu.sh PRESET SECONDS --cpu   # the background CPU variant (a short fine-tune)
#   (extra arguments after these go to tools/train.py)
#
# SECONDS is the whole run, start-up included (a 10-minute device call fits 540). The run trains on a
# copy of the state in OUT/state (OUT = $OUT when the device tool sets it, else runs/PRESET-gpu or
# runs/PRESET-cpu) and writes OUT/train.log, OUT/curve.json (validation curve) and OUT/best.safetensors
# (best EMA weights). A second run continues the first once OUT/state is copied back:
#   cp OUT/state/* training/state/PRESET/
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
PHOTOS=.gpu/photos

pack() {
  # Long side 640, JPEG q80: the whole tree that travels stays under 50 MiB.
  "$PY" - "${1:-../shared/datasets/photos}" "$PHOTOS" <<'EOF'
import sys, cv2
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
n = 0
for p in sorted(src.iterdir()):
    img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if img is None:
        continue
    h, w = img.shape[:2]
    f = 640 / max(h, w)
    if f < 1:
        img = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(dst / (p.stem + ".jpg")), img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    n += 1
size = sum(f.stat().st_size for f in dst.iterdir()) / 2 ** 20
print(f"packed {n} photos into {dst} ({size:.1f} MiB)")
EOF
}

if [ "${1:-}" = "--pack" ]; then pack "${2:-}"; exit 0; fi
if [ $# -lt 2 ]; then sed -n 2,14p "$0"; exit 2; fi
preset=$1; seconds=$2; shift 2
mode=gpu
if [ "${1:-}" = "--cpu" ]; then mode=cpu; shift; fi
if [ ! -d "$PHOTOS" ]; then
  [ -d ../shared/datasets/photos ] || { echo "train_gpu.sh: no $PHOTOS here: run 'tools/train_gpu.sh --pack'" \
    "where the photos are and carry .gpu" >&2; exit 2; }
  pack
fi
state=training/state/$preset
out=${OUT:-runs/$preset-$mode}
mkdir -p "$out/state"
init=()
if [ -f "$state/state.json" ]; then
  cp "$state"/* "$out/state/"
elif [ -f "vdeblur/model/weights/$preset.safetensors" ]; then
  # No state committed yet: start one from the shipped weights (a state that only repeated them would
  # double their size in git for nothing).
  init=(--init "$preset")
else
  echo "train_gpu.sh: no training state at $state and no shipped weights for $preset" >&2; exit 2
fi

# Per-preset settings that fit the machine; anything given after the arguments overrides them.
if [ $mode = gpu ]; then
  case $preset in
    small) args=(--batch 32 --crop 256 --seq 8 --lr 1e-3 --refresh 8 --bank 256) ;;
    # base keeps its weights only (13.5 MB, a warm-up on resume) so that the repository and the packed
    # photos stay under 50 MiB for the device tool.
    base)  args=(--batch 16 --crop 256 --seq 8 --lr 5e-4 --refresh 8 --bank 256 --state-budget-mb 14) ;;
    *)     args=() ;;
  esac
  args+=(--device cuda --val-every 2000 --log-every 200)
else
  # Crops near the 256 px the weights were trained at and a low LR (128-px crops lowered the gain here).
  args=(--batch 4 --crop 192 --seq 6 --lr 1e-4 --warmup 100 --refresh 0.25 --bank 48 --device cpu
        --val-every 500 --log-every 50 --val-clips 2 --val-frames 8 --val-size 192 320)
fi
# Leave the last 20 s for the final validation and save.
"$PY" tools/train.py --preset "$preset" --photos "$PHOTOS" --state "$out/state" --out "$out" \
  --seconds $((seconds - 20)) ${init[@]+"${init[@]}"} "${args[@]}" "$@"
echo "train_gpu.sh: state $out/state (copy it into $state to continue from it), log $out/train.log," \
     "curve $out/curve.json, best EMA weights $out/best.safetensors"
