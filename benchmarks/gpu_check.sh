#!/usr/bin/env bash
# The GPU embedding check, for a CUDA machine that is offline and has its own python3 and torch
# (with sentence-transformers, numpy, pandas, pyarrow): installs nothing.
#
#   here:  .venv/bin/python benchmarks/gpu_check.py prepare      # writes build/gpu_check (< 64 MiB)
#   there: bash benchmarks/gpu_check.sh [build/gpu_check]        # with build/gpu_check carried along
#
# Embeds 100,000 real documents with embed.device auto (CUDA: fp16), prints documents a second,
# and checks a 512-document slice against CPU fp32 vectors (cosine >= 0.99); exits 1 if not.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 benchmarks/gpu_check.py check "${1:-build/gpu_check}"
