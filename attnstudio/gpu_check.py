"""`python -m attnstudio.gpu_check`: the GPU path proven in one go, on a machine with CuPy.

    python -m attnstudio.gpu_check [--out gpu_check.json] [--bench-sizes 1024 4096 8192 16384]
                                   [--cpu-up-to 4096] [--repeat 5] [--display-n 8192] [--no-tests]

(a) tests: every test marked ``gpu`` in the files of tests/core and tests/studio that name
    CuPy, run by pytest in a process of its own; passed, skipped (with reasons) and failed
    are counted. (The tests with a simulated CuPy run in every ordinary test run.)
(b) agreement: NumPy against CuPy on the same inputs, every stage, float32 and float64,
    several sizes and settings (core/agreement.py).
(c) bench: the pipeline up to N = 16,384 on CuPy with PyTorch CUDA as its peer (NumPy and
    PyTorch CPU up to --cpu-up-to), ratio cupy/torch-cuda; target ≤ 1.0 at N = 8192.
(d) display: at N = 8192, every stage the window shows reduced on the GPU and then copied
    (studio/display_cache.py, as the compute worker does) against every stage copied whole.
(e) edit: what the screen waits for after a W_Q edit at N = 8192: compute + reduce + copy
    (studio/result.py: compute_result). Edit-to-repaint itself is a Qt measurement
    (`attnstudio bench --gui`); this check never imports Qt, so it runs where PySide6 is not
    installed.

Writes one JSON file (whole or not at all) and prints a summary. Without a working CuPy it
prints "no GPU: nothing to check" and exits 0; it exits 1 when a test fails or a stage
disagrees, 2 for bad arguments or a file it cannot write. See docs/architecture.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEST_FOLDERS = ("tests/core", "tests/studio")  # the Qt-free tests (docs/architecture.md)
# What the test files with GPU tests import besides NumPy and attnstudio.
TEST_NEEDS = ("pytest", "hypothesis", "scipy")
EDIT_TARGET_MS = 30.0
RATIO_TARGET = 1.0


def cupy_test_files(repo: Path = REPO) -> list[Path]:
    """The Qt-free test files that name CuPy (real or simulated)."""
    return sorted(p for folder in TEST_FOLDERS for p in (repo / folder).glob("test_*.py")
                  if "cupy" in p.read_text(encoding="utf-8").lower())


def run_tests(files: Sequence[Path], repo: Path = REPO) -> dict[str, Any]:
    """pytest on the ``gpu`` tests of ``files`` in its own process; counts and each skipped
    test's reason."""
    if not files:
        return {"error": f"no test files under {', '.join(TEST_FOLDERS)} in {repo}: run from a source checkout"}
    missing = [m for m in TEST_NEEDS if importlib.util.find_spec(m) is None]
    if missing:  # their files would fail to load: say so instead of counting failures
        return {"error": f"the tests need {', '.join(missing)}: pip install {' '.join(missing)}"}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu",
                               f"--junitxml={report}", *map(str, files)], cwd=repo, capture_output=True, text=True)
        if not report.exists():
            return {"error": f"pytest did not run (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"}
        return junit_counts(ET.parse(report).getroot(), proc.returncode)


def junit_counts(root: ET.Element, exit_code: int) -> dict[str, Any]:
    """passed / skipped / failed counts of a JUnit XML report, and the skipped and failed tests."""
    out: dict[str, Any] = {"exit_code": exit_code, "passed": 0, "skipped": 0, "failed": 0, "skips": [], "failures": []}
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = next((c for c in case if c.tag in ("skipped", "failure", "error")), None)
        if outcome is None:
            out["passed"] += 1
        elif outcome.tag == "skipped":
            out["skipped"] += 1
            out["skips"].append(f"{name}: {outcome.get('message', '')}")
        else:
            out["failed"] += 1
            out["failures"].append(f"{name}: {outcome.get('message', '')[:300]}")
    return out


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    """Median wall seconds of ``run()`` after one warm-up (each run ends with a host copy or a
    synchronisation, so the GPU's work is inside the time)."""
    run()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def display_path(n: int, repeat: int) -> dict[str, Any]:
    """(d): every stage reduced on the GPU before the host copy, against copying every stage."""
    import numpy as np

    from attnstudio.core.backends import resolve_backend
    from attnstudio.core.bench import bench_inputs, bench_settings
    from attnstudio.core.pipeline import compute
    from attnstudio.studio.display_cache import DisplayCache

    tokens, x, weights = bench_inputs(n, 64)
    trace = compute(tokens, bench_settings(64, "cupy"), weights=weights, embeddings=x, backend=resolve_backend("cupy"))
    reduced = median_seconds(lambda: DisplayCache(trace).prefill(0, 0), repeat)
    copied = median_seconds(trace.host, repeat)
    on_gpu = DisplayCache(trace).get(0, 0, "weights")[0]
    on_host = DisplayCache(trace.host()).get(0, 0, "weights")[0]
    return {"n": n, "reduce_then_copy_ms": reduced * 1e3, "copy_every_stage_ms": copied * 1e3,
            "shown_side": int(on_gpu.shape[0]), "weights_max_diff": float(np.max(np.abs(on_gpu - on_host)))}


def edit_path(n: int, repeat: int) -> dict[str, Any]:
    """(e): a W_Q cell edit at N tokens, then compute + reduce + copy as the compute worker does."""
    from attnstudio.core.settings import Settings
    from attnstudio.studio.model import StudioModel
    from attnstudio.studio.result import compute_result

    model = StudioModel(" ".join(f"w{i % 97}" for i in range(n)), Settings(backend="cupy"))
    base = float(model.matrix("w_q")[0, 0])
    edits = iter(range(1, 10_000))
    backends = set()

    def one_edit() -> None:
        model.set_weight_cell(0, 0, "w_q", 0, 0, base + 0.01 * next(edits))
        result = compute_result(model.inputs(), prefill=(0, 0))
        if result.trace is None:
            raise RuntimeError(result.error or "no result")
        backends.add(result.trace.backend.name)

    median = median_seconds(one_edit, repeat)
    return {"n": n, "settings": "the window's defaults on CuPy", "compute_reduce_copy_ms": median * 1e3,
            "backends": sorted(backends), "target_ms": EDIT_TARGET_MS,
            "edit_to_repaint": "not measured here: it needs Qt (attnstudio bench --gui), which this check never "
                               "imports"}


def run_bench_part(sizes: Sequence[int], cpu_up_to: int, repeat: int) -> dict[str, Any]:
    """(c): the bench's rows (GPU contenders at every size, CPU ones up to ``cpu_up_to``) and
    the ratio cupy/torch-cuda per N."""
    from attnstudio.core.bench import bench_inputs, check_bench, contenders, measure

    check_bench([n for n in sizes if n <= cpu_up_to], 64)
    found, notes = contenders()
    rows = []
    for n in sizes:
        inputs = bench_inputs(n, 64)
        for c in found:
            if c.threads is None or n <= cpu_up_to:  # threads is None: a GPU contender
                row = measure(c, inputs, repeat)
                if row is not None:
                    rows.append(row)
    by = {(r["n"], r["backend"]): r["median_ms"] for r in rows}
    ratios = {str(n): by[(n, "cupy")] / by[(n, "torch-cuda")] for n in sizes
              if (n, "cupy") in by and (n, "torch-cuda") in by}
    return {"rows": rows, "cupy_over_torch_cuda": ratios, "notes": notes, "ratio_target": RATIO_TARGET}


def check(args: argparse.Namespace, cupy_ready_s: float = 0.0) -> dict[str, Any]:
    """Every part, in order; each part's failure is reported in its place, not raised.
    ``cupy_ready_s``: how long CuPy took to import and pass its first test (``main`` times it)."""
    from attnstudio.core.agreement import agreement, cases
    from attnstudio.core.backends import resolve_backend
    from attnstudio.core.bench import machine_info

    cupy = resolve_backend("cupy")
    first = time.perf_counter()
    agreement(cases((16,))[0], cupy)  # the first pipeline compiles CuPy's kernels
    report: dict[str, Any] = {"machine": machine_info(), "cupy_ready_s": cupy_ready_s,
                              "first_pipeline_s": time.perf_counter() - first}
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("tests", lambda: {"skipped": "--no-tests"} if args.no_tests else run_tests(cupy_test_files())),
        ("agreement", lambda: [agreement(c, cupy) for c in cases(tuple(args.agreement_sizes))]),
        ("bench", lambda: run_bench_part(args.bench_sizes, args.cpu_up_to, args.repeat)),
        ("display", lambda: display_path(args.display_n, args.repeat)),
        ("edit", lambda: edit_path(args.display_n, args.repeat)),
    ]
    for name, part in parts:
        print(f"gpu_check: {name}…", flush=True)
        try:
            report[name] = part()
        except Exception as exc:  # report it and go on with the next part
            report[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return report


def summary(report: dict[str, Any]) -> tuple[list[str], bool]:
    """The report as lines for a person, and whether everything that must hold held."""
    ok = True
    m = report["machine"]
    lines = [f"GPU {m['gpu']} · CuPy {m['cupy']} · PyTorch {m['torch']} · NumPy {m['numpy']}; "
             f"CuPy ready in {report['cupy_ready_s']:.2f} s, first pipeline {report['first_pipeline_s']:.2f} s"]
    t = report["tests"]
    if "passed" in t:
        ok &= t["failed"] == 0
        lines.append(f"(a) tests: {t['passed']} passed, {t['skipped']} skipped, {t['failed']} failed")
        lines += [f"    skipped {s}" for s in t["skips"] if any(w in s.lower() for w in ("gpu", "cupy", "cuda"))]
        lines += [f"    FAILED {s}" for s in t["failures"]]
    else:
        ok &= "skipped" in t
        lines.append(f"(a) tests: {t.get('error') or t.get('skipped')}")
    agree = report["agreement"]
    if isinstance(agree, list):
        bad = [a for a in agree if not a["ok"]]
        ok &= not bad
        worst = {d: max((a["worst"] for a in agree if a["dtype"] == d), default=0.0) for d in ("float32", "float64")}
        lines.append(f"(b) agreement: {len(agree) - len(bad)}/{len(agree)} cases agree; largest relative "
                     f"difference float32 {worst['float32']:.2e}, float64 {worst['float64']:.2e}")
        lines += [f"    DISAGREES {a['case']} N={a['n']}: {a['worst']:.2e} > {a['tolerance']:.0e}" for a in bad]
    else:
        ok = False
        lines.append(f"(b) agreement: {agree['error']}")
    for key, text in (("bench", "(c) bench"), ("display", "(d) display"), ("edit", "(e) edit")):
        part = report[key]
        if "error" in part:
            lines.append(f"{text}: {part['error']}")
        elif key == "bench":
            ratios = ", ".join(f"N={n}: {r:.2f}x" for n, r in part["cupy_over_torch_cuda"].items())
            lines.append(f"{text}: cupy/torch-cuda {ratios or 'not measured'} (target ≤ {RATIO_TARGET:.1f} at N=8192)")
            lines += [f"    N={r['n']} {r['backend']}: {r['median_ms']:.3f} ms" for r in part["rows"]]
            lines += [f"    {note}" for note in part["notes"]]
        elif key == "display":
            lines.append(f"{text}: N={part['n']}: reduce on the GPU then copy {part['reduce_then_copy_ms']:.1f} ms "
                         f"vs copy every stage {part['copy_every_stage_ms']:.1f} ms (shown {part['shown_side']}², "
                         f"weights differ by {part['weights_max_diff']:.1e})")
        else:
            lines.append(f"{text}: N={part['n']}: compute + reduce + copy {part['compute_reduce_copy_ms']:.1f} ms "
                         f"(target for edit-to-repaint ≤ {EDIT_TARGET_MS:.0f} ms); edit-to-repaint "
                         f"{part['edit_to_repaint']}")
    return lines, ok


def _counts(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65536:
        raise argparse.ArgumentTypeError(f"must be 1..65536, not {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attnstudio.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json", help="the JSON report (default: %(default)s)")
    parser.add_argument("--bench-sizes", type=_counts, nargs="+", default=[256, 1024, 2048, 4096, 8192, 16384])
    parser.add_argument("--cpu-up-to", type=_counts, default=4096, help="time NumPy and PyTorch CPU up to this N")
    parser.add_argument("--agreement-sizes", type=_counts, nargs="+", default=[16, 300, 1024])
    parser.add_argument("--repeat", type=_counts, default=5)
    parser.add_argument("--display-n", type=_counts, default=8192)
    parser.add_argument("--no-tests", action="store_true", help="leave out (a), the pytest run")
    args = parser.parse_args(argv)

    from attnstudio.core.atomic import ExportError, check_target, write_bytes
    from attnstudio.core.backends import cupy_status

    try:
        check_target(args.out)
    except ExportError as exc:
        print(f"gpu_check: error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    status = cupy_status()  # the first use in this process: import and a first test sum
    if status.module is None:
        print(f"no GPU: nothing to check ({status.reason})")
        return 0
    report = check(args, time.perf_counter() - t0)
    lines, ok = summary(report)
    report["ok"] = ok
    try:
        write_bytes(args.out, (json.dumps(report, indent=1, default=str) + "\n").encode("utf-8"))
    except ExportError as exc:
        print(f"gpu_check: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join([*lines, f"{'all checks passed' if ok else 'SOME CHECKS FAILED'}; report: {args.out}"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
