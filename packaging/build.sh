#!/usr/bin/env bash
# Build the one-folder bundle in its own lean venv, then smoke-test it.
#   packaging/build.sh cpu    CPU torch, no torchvision (default, ~1 GB)
#   packaging/build.sh cuda   CUDA torch + torchvision (several GB)
set -euo pipefail
cd "$(dirname "$0")/.."
variant="${1:-cpu}"
venv=".venv-bundle-$variant"
reqs="packaging/requirements-bundle.txt"
[ "$variant" = cuda ] && reqs="packaging/requirements-bundle-cuda.txt"
start=$(date +%s)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
fi
"$venv/bin/python" -m pip install -q -r "$reqs"
# spandrel imports torchvision, which the CPU wheel lacks: only the cuda bundle carries it
"$venv/bin/python" -m PyInstaller packaging/restorelab.spec --noconfirm --log-level WARN \
  --distpath "dist/$variant" --workpath "build/$variant"
exe="dist/$variant/restorelab/restorelab"
echo "== smoke test: self-test"
RESTORELAB_HOME="$(mktemp -d)" "$exe" self-test
echo "== smoke test: window opens offscreen"
RESTORELAB_HOME="$(mktemp -d)" QT_QPA_PLATFORM=offscreen RESTORELAB_QUIT_AFTER_MS=4000 "$exe"
end=$(date +%s)
echo "bundle: $(du -sh "dist/$variant/restorelab" | cut -f1) in dist/$variant/restorelab, built in $((end - start)) s"
