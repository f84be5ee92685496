#!/usr/bin/env bash
# Low-priority CPU fine-tune of small: the no-harm term and near-sharp clips (rendered once, real x264,
# exact colour), from the shipped weights; resumes training/state/small-noharm. Run it as
#   nohup nice -n 19 bash tools/cpu_finetune.sh > logs/finetune.log 2>&1 &
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=.venv/bin/python
if [ ! -f clips/ns_v2/.done ]; then
  $PY tools/synthesize.py photos ../shared/datasets/photos --split train --profile near_sharp --clips 160 \
     --frames 12 --width 320 --height 192 --seed 41 -o clips/ns_v2 && touch clips/ns_v2/.done
fi
$PY tools/train.py --preset small $( [ -f training/state/small-noharm/state.json ] || echo --init small ) \
   --no-harm-weight 0.04 --data clips/ns_v2 --state training/state/small-noharm --out runs/small-noharm \
   --seconds 36000 --batch 4 --crop 160 --seq 6 --lr 5e-5 --warmup 50 --device cpu --threads 1 \
   --val-every 400 --log-every 50 --ckpt-every-s 180
