#!/usr/bin/env bash
# Build the one-folder bundle dist/attnstudio/ from a clean venv WITHOUT the CUDA extras.
#
# The venv is made fresh each time on purpose: PyInstaller bundles whatever an import can
# reach in the build environment, and a development environment (CuPy, torch, scipy) makes
# the bundle hundreds of MB larger (DESIGN §8). Usage: packaging/build.sh
# Environment: PYTHON (the interpreter for the venv, default python3; it needs its shared
# libpython, which python.org, Debian and pyenv's default builds have).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=build/bundle-venv
WORK=build/pyinstaller
start=$(date +%s)

rm -rf "$VENV" "$WORK" dist/attnstudio
"$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
[ -x "$PY" ] || PY="$VENV/Scripts/python.exe"  # Windows (Git Bash)

echo "build: installing attnstudio and PyInstaller into $VENV"
"$PY" -m pip install --quiet --disable-pip-version-check . "pyinstaller>=6.10,<7"
for forbidden in cupy torch scipy PyQt5 PyQt6; do
  if "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$forbidden') is None)"; then
    echo "build: error: $forbidden is installed in the build venv; the bundle must be NumPy-only" >&2
    exit 1
  fi
done
"$PY" -m pip list --format=freeze --disable-pip-version-check > build/bundle-requirements.txt

echo "build: running PyInstaller"
"$(dirname "$PY")/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath dist --workpath "$WORK" packaging/attnstudio.spec

elapsed=$(( $(date +%s) - start ))
size_mb=$(du -sm dist/attnstudio | cut -f1)
files=$(find dist/attnstudio -type f | wc -l)
echo "build: dist/attnstudio/ — ${size_mb} MB in ${files} files, built in ${elapsed} s" \
     "($(grep -i -E '^(pyside6[-_]essentials|numpy|pyqtgraph|pyinstaller)==' build/bundle-requirements.txt | tr '\n' ' '))"
