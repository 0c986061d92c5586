"""`attnstudio bench`: everything a run needs is checked before the first timing, in bench's
own terms; the progress never prints the table's numbers a second time; the table's ratios
and the JSON file hold what was measured."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from test_backends import FakeCupy

from attnstudio.cli import main
from attnstudio.core import backends
from attnstudio.core.bench import bench_rows, format_table, run_bench
from attnstudio.core.errors import AttnStudioError


def bench(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["bench", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_d_k_bench_cannot_time_is_refused_first_in_its_own_terms(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = bench(capsys, "--d-k", "2048", "--sizes", "2", "--repeat", "1")
    assert code == 2 and out == ""
    assert err == "attnstudio: error: --d-k must be a whole number from 1 to 1024, not 2048\n"


def test_a_size_that_cannot_fit_is_refused_before_any_timing(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("attnstudio.core.memory.available_bytes", lambda: 10**6)
    monkeypatch.setattr("attnstudio.core.memory.CHECK_ABOVE", 0)
    code, out, err = bench(capsys, "--sizes", "4,2048", "--d-k", "8", "--repeat", "1")
    assert code == 2 and out == ""
    assert re.fullmatch(r"attnstudio: error: --sizes 2048: 2,048 tokens × 1 layer × 1 head needs ≈ \d+ MB; "
                        r"1.0 MB available\n", err), err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_one_line_rewritten_and_cleared() -> None:
    term = Terminal()
    run_bench([4, 8], d_k=4, repeat=1, progress=term)
    text = term.getvalue()
    timings = re.findall(r"\rN=\s+\d+ +[\w-]+: +[\d.]+ ms \(\d+/\d+\)\x1b\[K", text)
    assert len(timings) >= 2
    assert not re.search(r"ms[^\x1b]*\n", text)  # no line of numbers stays
    assert text.replace("".join(timings), "").startswith("\r\x1b[K")  # cleared before the table


def test_progress_elsewhere_is_one_line_per_timing_without_the_tables_numbers() -> None:
    """`bench 2>&1 | cat` shows the progress and then the table: the times are in the table only."""
    log = io.StringIO()
    rows = run_bench([4, 8], d_k=4, repeat=1, progress=log)
    text = log.getvalue()
    assert re.findall(r"^bench: timed N=(\d+) on numpy \(\d+/\d+\)$", text, re.M) == ["4", "8"]
    assert len(re.findall(r"^bench: timed", text, re.M)) == len(rows)
    assert " ms" not in text


def test_rows_come_one_by_one_and_stop_when_asked() -> None:
    from attnstudio.core.bench import bench_rows, bench_settings
    from attnstudio.core.memory import trace_bytes

    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(rows) >= 1

    rows: list[dict] = []
    for row in bench_rows([4, 8, 16], d_k=4, repeat=2, should_stop=stop):
        rows.append(row)
    assert [r["n"] for r in rows] == [4]
    assert rows[0]["scores_per_head"] == 16 and rows[0]["median_ms"] > 0
    # A trace of 4 tokens, one head of width 4, float32: counted here from the stages.
    per_head = 4 * 4 * 4 + 4 * 4 * 4 + 2 * 4
    per_layer = per_head + 4 * 4 * 4 + 4 * 4 * 4
    assert rows[0]["trace_bytes"] == 4 * (per_layer + 3 * 4 * 4) == trace_bytes(4, bench_settings(4))


def test_json_holds_the_machine_and_every_row_and_is_written_whole(capsys: pytest.CaptureFixture[str],
                                                                    tmp_path: Path) -> None:
    target = tmp_path / "bench.json"
    code, out, err = bench(capsys, "--sizes", "4", "8", "--repeat", "2", "--d-k", "4", "--json", str(target))
    assert code == 0, err
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]  # no temporary file left
    assert doc["d_k"] == 4 and doc["repeat"] == 2 and "gui" not in doc
    machine = doc["machine"]
    assert machine["cpu_count"] >= 1 and machine["numpy_blas_threads"] >= 1 and machine["numpy"]
    names = {r["backend"] for r in doc["rows"]}
    assert "numpy" in names and ("torch-cpu" in names) == (machine["torch"] is not None)
    for r in doc["rows"]:
        assert r["n"] in (4, 8) and r["scores_per_head"] == r["n"] ** 2 and 0 < r["min_ms"] <= r["median_ms"]
    if machine["torch"] is not None:  # the peer runs on NumPy's thread count
        assert machine["torch_threads"] == machine["numpy_blas_threads"]
        assert "numpy/torch-cpu" in out.splitlines()[1]
    assert out.startswith("# float32, one head")  # the table still goes to stdout


def test_a_json_path_that_cannot_be_written_is_refused_before_any_timing(capsys: pytest.CaptureFixture[str],
                                                                         tmp_path: Path) -> None:
    code, out, err = bench(capsys, "--sizes", "4", "--repeat", "1", "--json", str(tmp_path / "no" / "b.json"))
    assert code == 2 and out == ""
    assert err == f"attnstudio: error: cannot write {tmp_path / 'no' / 'b.json'}: the folder {tmp_path / 'no'} " \
                  "does not exist\n"


@pytest.mark.parametrize(("argv", "message"), [
    (("--sizes", "4,x"), "--sizes must be whole numbers separated by spaces or commas, not '4,x'"),
    (("--sizes", "0"), "--sizes must be token counts from 1 to 65536"),
    (("--gui-edits", "0"), "--gui-edits must be 1..1000, not 0"),
])
def test_bad_options_are_one_line(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str) -> None:
    assert bench(capsys, *argv) == (2, "", f"attnstudio: error: {message}\n")


def test_the_table_divides_each_pair_that_was_measured() -> None:
    rows = [{"n": 16, "backend": "numpy", "median_ms": 0.3}, {"n": 16, "backend": "torch-cpu", "median_ms": 0.12},
            {"n": 16, "backend": "cupy", "median_ms": 0.5}, {"n": 16, "backend": "torch-cuda", "median_ms": 0.25},
            {"n": 512, "backend": "numpy", "median_ms": 9.0}, {"n": 512, "backend": "torch-cpu", "median_ms": 12.0}]
    head, first, second = format_table(rows).splitlines()
    assert head.split() == ["N", "N²", "scores", "numpy", "ms", "torch-cpu", "ms", "cupy", "ms", "torch-cuda", "ms",
                            "numpy/torch-cpu", "cupy/torch-cuda", "numpy/cupy"]
    assert first.split()[-3:] == [f"{0.3 / 0.12:.2f}x", f"{0.5 / 0.25:.2f}x", f"{0.3 / 0.5:.2f}x"]
    assert second.split() == ["512", "262,144", "9.000", "12.000", "—", "—", f"{9 / 12:.2f}x", "—", "—"]


def test_bench_without_gui_never_imports_qt(tmp_path: Path) -> None:
    code = ("import sys; from attnstudio.cli import main; "
            "assert main(['bench', '--sizes', '4', '--repeat', '1', '--d-k', '4']) == 0; "
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph') "
            "or m.startswith('attnstudio.qt')); assert not loaded, loaded")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.returncode == 0, proc.stderr


class EventCupy(FakeCupy):
    """A working fake CuPy with CUDA events that report 2.5 ms between any two, and a memory pool."""

    freed = 0

    def __init__(self) -> None:
        super().__init__()
        events: list[str] = []
        self.cuda.Event = lambda: types.SimpleNamespace(record=lambda: events.append("record"),
                                                        synchronize=lambda: events.append("sync"))
        self.cuda.get_elapsed_time = lambda start, end: 2.5
        self.events = events

    def get_default_memory_pool(self) -> types.SimpleNamespace:
        def free() -> None:
            EventCupy.freed += 1

        return types.SimpleNamespace(free_all_blocks=free)


def test_a_gpu_is_timed_by_cuda_events_and_its_pool_emptied_after_each_size(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = EventCupy()
    monkeypatch.setattr(backends, "_import_cupy", lambda: fake)
    backends.cupy_status.cache_clear()
    try:
        rows = [r for r in bench_rows([4, 8], d_k=4, repeat=3) if r["backend"] == "cupy"]
    finally:
        backends.cupy_status.cache_clear()
    assert [(r["n"], r["median_ms"], r["min_ms"], r["clock"], r["device"], r["threads"]) for r in rows] == [
        (4, 2.5, 2.5, "CUDA events", "Fake GPU 80GB", None), (8, 2.5, 2.5, "CUDA events", "Fake GPU 80GB", None)]
    assert fake.events == ["record", "record", "sync"] * 8  # (warm-up + 3) × 2 sizes
    assert EventCupy.freed == 2


def test_a_gpu_that_falls_back_to_numpy_is_not_timed_as_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    class FailsInCompute(EventCupy):
        def asarray(self, a: object, dtype: object = None) -> np.ndarray:
            raise RuntimeError("cudaErrorLaunchFailure")

    monkeypatch.setattr(backends, "_import_cupy", FailsInCompute)
    backends.cupy_status.cache_clear()
    try:
        with pytest.raises(AttnStudioError, match="cupy could not be timed: GPU failed, computed on the CPU: "
                                                  "RuntimeError: cudaErrorLaunchFailure"):
            list(bench_rows([4], d_k=4, repeat=1))
    finally:
        backends.cupy_status.cache_clear()


def test_gui_without_the_windows_packages_is_one_line(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU machines have no PySide6: --gui says what is missing instead of a traceback."""
    for name in ("PySide6", "PySide6.QtCore", "PySide6.QtWidgets"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as when not installed
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    code, out, err = bench(capsys, "--sizes", "4", "--repeat", "1", "--d-k", "4", "--gui", "--gui-sizes", "8")
    assert code == 2 and out.startswith("# float32")  # the table was measured and printed first
    assert err.splitlines()[-1].startswith("attnstudio: error: --gui needs the window's packages: "
                                           "import of PySide6.QtCore halted"), err
