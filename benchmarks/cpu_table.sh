#!/usr/bin/env bash
# Produces the README's CPU performance table: benchmarks/results/bench_cpu.{json,png,md}.
# Run on an otherwise idle machine; the JSON records the hardware.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
vdeblur bench --synthetic 640x360 --frames 300 --preset veryfast \
  --matrix backend=onnxruntime,torch size=640x360,1280x720 \
  --json "$out/bench_cpu.json" --plot "$out/bench_cpu.png" | tee "$out/bench_cpu.md"
