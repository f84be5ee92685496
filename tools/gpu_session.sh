#!/usr/bin/env bash
# One lent-GPU call: train presets side by side on the one GPU, then the GPU tests and the model benchmark.
#
#   run(command="tools/gpu_session.sh 440 small base", carry=[".gpu"], timeout_s=590)
#
# SECONDS is each training run, start-up included (tools/train_gpu.sh); the checks after it take at most
# about 90 s. Both presets' activations fit one H100 together (about 5 GB for small at batch 32 and 8 GB
# for base at batch 16, crop 256, 8 frames, bf16), and two processes keep the GPU busier than one
# launch-bound small network does. What comes back in $OUT (at most 8 files, 16 MiB each):
#   PRESET.tar.NN   the run folder (state/, train.log, curve.json, best.safetensors), split at 15 MiB:
#                   here `cat PRESET.tar.* | tar -x -C runs/PRESET-gpu`, then copy its state/* into
#                   training/state/PRESET/ and evaluate best.safetensors
#   checks.log      nvidia-smi, the GPU tests (-m gpu) and benchmarks/gpu_model.py
#   gpu_model.json  that benchmark's figures
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
[ $# -ge 2 ] || { sed -n 2,15p "$0"; exit 2; }
seconds=$1; shift
out=${OUT:-runs/gpu-session}
mkdir -p "$out" runs

pids=()
for preset in "$@"; do
  rm -rf "runs/gpu-$preset"
  OUT="runs/gpu-$preset" tools/train_gpu.sh "$preset" "$seconds" > "runs/gpu-$preset.console" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || echo "gpu_session: training $(($i + 1)) exited with $?" >&2
done
for preset in "$@"; do
  cp "runs/gpu-$preset.console" "runs/gpu-$preset/console.log"
  tail -n 4 "runs/gpu-$preset.console"
  tar -C "runs/gpu-$preset" -cf - . | split -b 15m -d - "$out/$preset.tar."
done

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
  timeout 60 python3 -m pytest -q -m gpu -p no:cacheprovider tests/backends/test_parity.py
  timeout 60 python3 benchmarks/gpu_model.py --json "$out/gpu_model.json"
} > "$out/checks.log" 2>&1
tail -n 30 "$out/checks.log"
