#!/usr/bin/env bash
# The GPU path on a CUDA machine: self-test; every shipped model on cuda (whole, tiled, fp32 and
# bf16/fp16) vs CPU fp32 (fp32 must be > 50 dB); the smoke preset trained on cuda in fp32, fp16
# (GradScaler) and under a one-process torchrun; 12 MP timings. Prints a markdown table for
# docs/benchmarks.md and exits non-zero when a check fails. Needs a Python with CUDA torch and
# the project's dependencies:
#   PY=/path/to/python packaging/gpu_check.sh [--device cuda:0] [--models sr-x2 ...]
#   packaging/gpu_check.sh --dry-run      # every step on the CPU, small: tries the script anywhere
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
exec "$PY" packaging/gpu_check.py "$@"
