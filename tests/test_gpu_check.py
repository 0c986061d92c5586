"""`python -m attnstudio.gpu_check` without a GPU says so and writes nothing; never imports Qt;
and the parts that run on the CPU (the test counting, the agreement, the report) work here,
with NumPy standing in for CuPy (resolve_backend("cupy") falls back to it)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attnstudio import gpu_check

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_without_a_gpu_there_is_nothing_to_check_and_nothing_is_written(tmp_path: Path) -> None:
    code = ("import sys, attnstudio.core.backends as b; "
            "b._import_cupy = lambda: (_ for _ in ()).throw(ImportError('no cupy')); "
            "from attnstudio.gpu_check import main; code = main(['--out', sys.argv[1]]); "
            "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')); "
            "assert not qt, qt; sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.json")], env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "no GPU: nothing to check (CuPy not installed)\n", "")
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_cannot_be_written_is_refused_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_check.main(["--out", str(tmp_path / "no" / "r.json")]) == 2
    assert capsys.readouterr().err == (f"gpu_check: error: cannot write {tmp_path / 'no' / 'r.json'}: "
                                       f"the folder {tmp_path / 'no'} does not exist\n")


def test_the_tests_part_counts_what_pytest_reports(tmp_path: Path) -> None:
    folder = tmp_path / "tests" / "core"
    folder.mkdir(parents=True)
    (folder / "test_gpu_like.py").write_text(
        "import pytest\n"
        "pytestmark = pytest.mark.gpu  # cupy\n"
        "def test_passes(): assert True\n"
        "def test_skips(): pytest.skip('no CUDA device')\n"
        "def test_fails(): assert 1 == 2\n", encoding="utf-8")
    (folder / "test_other.py").write_text("def test_not_about_the_gpu(): pass\n", encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    gpu: needs a working CuPy\n", encoding="utf-8")
    files = gpu_check.cupy_test_files(tmp_path)
    assert [f.name for f in files] == ["test_gpu_like.py"]
    counts = gpu_check.run_tests(files, tmp_path)
    assert (counts["passed"], counts["skipped"], counts["failed"], counts["exit_code"]) == (1, 1, 1, 1)
    assert counts["skips"] == ["tests.core.test_gpu_like::test_skips: no CUDA device"]
    assert counts["failures"][0].startswith("tests.core.test_gpu_like::test_fails: assert 1 == 2")


def test_the_gpu_tests_of_this_repository_are_found() -> None:
    names = {f.name for f in gpu_check.cupy_test_files()}
    assert {"test_backends.py", "test_display.py", "test_masks.py", "test_model_gpu.py"} <= names


def test_every_part_runs_and_the_report_has_its_shape(tmp_path: Path) -> None:
    """NumPy stands in for CuPy: every part runs, the agreement is exact, the JSON is valid."""
    args = argparse.Namespace(no_tests=True, agreement_sizes=[8], bench_sizes=[8, 16], cpu_up_to=8, repeat=1,
                              display_n=300)
    report = gpu_check.check(args)
    lines, ok = gpu_check.summary(report)
    assert ok, lines
    assert report["tests"] == {"skipped": "--no-tests"}
    assert len(report["agreement"]) == 8 and all(a["ok"] and a["worst"] == 0.0 for a in report["agreement"])
    rows = report["bench"]["rows"]
    assert {r["n"] for r in rows if r["backend"] == "numpy"} == {8}  # the CPU only up to --cpu-up-to
    display = report["display"]
    assert display["n"] == 300 and display["shown_side"] == 150 and display["weights_max_diff"] == 0.0
    assert display["reduce_then_copy_ms"] > 0 and report["edit"]["compute_reduce_copy_ms"] > 0
    assert report["edit"]["backends"] == ["numpy"] and "needs Qt" in report["edit"]["edit_to_repaint"]
    json.loads(json.dumps(report))
    assert lines[1].startswith("(a) tests: --no-tests") and lines[2].startswith("(b) agreement: 8/8 cases agree")


def test_a_disagreeing_case_fails_the_check() -> None:
    report = {"machine": {"gpu": "G", "cupy": "14", "torch": None, "numpy": "2"}, "cupy_ready_s": 1.0,
              "first_pipeline_s": 1.0, "tests": {"passed": 3, "skipped": 0, "failed": 0, "skips": [], "failures": []},
              "agreement": [{"case": "c", "n": 16, "dtype": "float32", "worst": 1e-3, "tolerance": 1e-5, "ok": False}],
              "bench": {"error": "x"}, "display": {"error": "y"}, "edit": {"error": "z"}}
    lines, ok = gpu_check.summary(report)
    assert not ok and "    DISAGREES c N=16: 1.00e-03 > 1e-05" in lines
    assert lines[2].endswith("float32 1.00e-03, float64 0.00e+00")  # no float64 case: 0
