#!/usr/bin/env bash
# Build the one-folder bundle dist/attnstudio/ from a clean venv WITHOUT the CUDA extras.
#
# The venv is made fresh each time on purpose: PyInstaller bundles whatever an import can
# reach in the build environment, and a development environment (CuPy, torch, scipy) makes
# the bundle hundreds of MB larger (CuPy alone: 219 → 467 MB). Usage: packaging/build.sh
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

# The xcb helper libraries (libxcb-icccm4, libxcb-keysyms1, libxcb-cursor0, …) travel in the
# bundle only when this build machine has them: say which a user would have to install.
internal=dist/attnstudio/_internal
xcb="$internal/PySide6/Qt/plugins/platforms/libqxcb.so"
if [ -f "$xcb" ] && command -v ldd >/dev/null; then
  missing=$(LD_LIBRARY_PATH="$internal:$internal/PySide6/Qt/lib" ldd "$xcb" | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
  if [ -n "$missing" ]; then
    echo "build: note: not on this build machine, so not bundled: ${missing}— a real X11 window" \
         "will need them on the user's machine (Debian: libxcb-icccm4 libxcb-keysyms1 …); offscreen runs do not"
  fi
fi

elapsed=$(( $(date +%s) - start ))
bytes=$(du -sb dist/attnstudio | cut -f1)
files=$(find dist/attnstudio -type f | wc -l)
echo "build: dist/attnstudio/ — $((bytes / 1048576)) MiB ($((bytes / 1000000)) MB) in ${files} files, built in ${elapsed} s" \
     "($(grep -i -E '^(pyside6[-_]essentials|numpy|pyqtgraph|pyinstaller)==' build/bundle-requirements.txt | tr '\n' ' '))"
