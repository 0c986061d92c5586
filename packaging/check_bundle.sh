#!/usr/bin/env bash
# CI: build the bundle (packaging/build.sh), then run the built executable's --self-test
# from an empty folder. Fails on a non-zero exit, on a missing summary line, or on ANY
# line the executable writes to stderr (the self-test itself prints nothing there when
# all is well; a stray line is a warning a lecturer would see too), and on a bundle over
# its size budget (ATTNSTUDIO_BUNDLE_MAX_MB, default 150: every file's bytes, as du -sb counts).
# Prints the bundle's size, the self-test's summary and the time to the first painted window.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

packaging/build.sh
exe="$root/dist/attnstudio/attnstudio"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run_bundle() {  # run the executable from an empty folder, with nothing from this checkout on the path
  (cd "$scratch" && env -u PYTHONPATH -u PYTHONHOME -u PYTHONSTARTUP timeout 300 "$exe" "$@")
}

max_mb=${ATTNSTUDIO_BUNDLE_MAX_MB:-150}
bytes=$(du -sb "$root/dist/attnstudio" | cut -f1)
if [ "$bytes" -gt $((max_mb * 1000000)) ]; then
  echo "check_bundle: error: the bundle is $((bytes / 1000000)) MB, over its ${max_mb} MB budget" \
       "(packaging/README.md says what it leaves out and why)" >&2
  exit 1
fi

status=0
run_bundle --self-test >"$scratch/out" 2>"$scratch/err" || status=$?
cat "$scratch/out"
failed=0
if [ "$status" -ne 0 ]; then
  echo "check_bundle: error: the bundle's --self-test exited with $status" >&2
  failed=1
fi
if [ -s "$scratch/err" ]; then
  echo "check_bundle: error: the bundle wrote to stderr:" >&2
  sed 's/^/    /' "$scratch/err" >&2
  failed=1
fi
if ! grep -q "^self-test ok: " "$scratch/out"; then
  echo "check_bundle: error: no 'self-test ok:' line in the output" >&2
  failed=1
fi
[ "$failed" -eq 0 ] || exit 1

# The frozen app computes the very numbers the installed package does (same hashes for the
# toy values, same NumPy): compare a multi-head, two-layer trace as JSON.
args=(trace "The trophy doesn't fit in the suitcase" --heads 2 --d-model 8 --layers 2 --causal --format json)
run_bundle "${args[@]}" >"$scratch/frozen.json"
(cd "$scratch" && "$root/build/bundle-venv/bin/python" -m attnstudio "${args[@]}") >"$scratch/installed.json"
if ! cmp -s "$scratch/frozen.json" "$scratch/installed.json"; then
  echo "check_bundle: error: the bundle's trace differs from the installed package's:" >&2
  diff "$scratch/frozen.json" "$scratch/installed.json" | head -20 >&2
  exit 1
fi
echo "check_bundle: the bundle's trace matches the installed package's ($(wc -c <"$scratch/frozen.json") bytes of JSON)"

# Start-up time (informational): process start to the window's first paint, offscreen.
ATTNSTUDIO_EXIT_AFTER_PAINT=1 run_bundle --self-test 2>&1 | sed 's/^/bundle: /' || true

echo "check_bundle: ok"
