#!/usr/bin/env bash
# The GPU path on a CUDA machine: self-test, every shipped model on cuda vs CPU (PSNR > 50 dB),
# the smoke preset trained on cuda, 12 MP timings. Prints a markdown table for
# docs/benchmarks.md. Needs a Python with CUDA torch and the project's dependencies:
#   PY=/path/to/python packaging/gpu_check.sh [--device cuda:0] [--models sr-x2 ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
exec "$PY" packaging/gpu_check.py "$@"
