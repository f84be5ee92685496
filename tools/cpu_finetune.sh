#!/usr/bin/env bash
# Low-priority CPU fine-tune of small, resuming training/state/small-noharm: the no-harm term over a mix of
# pre-rendered clips (real x264, exact colour), all from the training photos or drawn procedurally:
#   the averaging, kernels and near_sharp families (tools/families.py --split train), procedural texture
#   (mostly still: the network must leave it alone), simulator near-sharp, ordinary, heavy and mild clips.
# Checkpoints are ranked on the validation families against the shipped small (runs/small-noharm/
# best.safetensors); judge a candidate with tools/families.py eval + rule. Run it as
#   nohup nice -n 19 bash tools/cpu_finetune.sh > logs/finetune.log 2>&1 &
main() {
set -e
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=.venv/bin/python
PHOTOS=../shared/datasets/photos
D=clips/ns_v2
once() {   # once NAME COMMAND...: run the command unless clips/NAME.done says it already ran
  local mark="clips/.$1.done"; shift
  [ -f "$mark" ] || { "$@" > /dev/null && mkdir -p clips && touch "$mark"; }
}
once families $PY tools/families.py render clips/families --photos $PHOTOS --seed 2024 --frames 10
once train77 $PY tools/families.py render $D --photos $PHOTOS --split train --clips 50 --seed 77
once train91 $PY tools/families.py render $D --photos $PHOTOS --split train --clips 40 --seed 91
once near_sharp $PY tools/synthesize.py photos $PHOTOS --split train --profile near_sharp --clips 160 \
     --frames 12 --width 320 --height 192 --seed 41 -o $D
once textures $PY tools/families.py render $D --photos $PHOTOS --split train --clips 0 --textures 60 --seed 55
once textures56 $PY tools/families.py render $D --photos $PHOTOS --split train --clips 0 --textures 100 --seed 56
once shake $PY tools/synthesize.py photos $PHOTOS --split train --profile train --clips 40 --frames 12 \
     --width 320 --height 192 --seed 43 --prefix sim_train_ -o $D
for profile in heavy mild; do   # the simulator's own blur, which the shipped weights were trained on
  once sim_$profile $PY tools/synthesize.py photos $PHOTOS --split train --profile $profile --clips 40 --frames 12 \
       --width 320 --height 192 --seed 47 --prefix sim_${profile}_ -o $D
done
$PY tools/train.py --preset small $( [ -f training/state/small-noharm/state.json ] || echo --init small ) \
   --no-harm-weight 0.1 --data $D --families clips/families --state training/state/small-noharm \
   --out runs/small-noharm --seconds 36000 --batch 4 --crop 160 --seq 6 --lr 5e-5 --warmup 50 --device cpu \
   --threads 1 --val-every 400 --log-every 50 --ckpt-every-s 180
}
main "$@"   # (a function: bash reads it whole before running, so an edit meanwhile cannot derail it)
