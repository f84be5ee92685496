#!/usr/bin/env bash
# On the lent GPU machine (after the training run, with time left): training throughput of both presets,
# eager fp32 vs bf16 vs bf16 + torch.compile, in one process per preset.
#   run(command="benchmarks/gpu_throughput.sh", carry=[".gpu"], timeout_s=420)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
out=${OUT:-benchmarks/results}
for preset in small base; do
  batch=32; [ $preset = base ] && batch=16
  python3 benchmarks/train_throughput.py --photos .gpu/photos --preset $preset --variants fp32 bf16 compiled \
    --batch $batch --crop 256 --seq 8 --refresh 8 --bank 64 --steps 20 --warmup 5 --device cuda \
    --json "$out/train_throughput_gpu_$preset.json"
done
