"""`attnstudio bench --gui` measures edit → repaint in the real window and cold start to the first
paint, prints them after the table and writes them into the JSON (figures not asserted: they
depend on the machine; their shape and that each is a measured, positive time are)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from attnstudio.cli import main


def test_bench_gui_writes_edit_and_cold_start_figures(qtbot, capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    target = tmp_path / "bench.json"
    code = main(["bench", "--sizes", "4", "--repeat", "1", "--d-k", "4", "--gui", "--gui-sizes", "8", "24",
                 "--gui-edits", "2", "--cold-runs", "1", "--json", str(target)])
    out, err = capsys.readouterr()
    assert code == 0, err
    gui = json.loads(target.read_text(encoding="utf-8"))["gui"]
    assert set(gui["edit_ms"]) == set(gui["edit_p90_ms"]) == set(gui["edit_compute_ms"]) == {"8", "24"}
    for n in ("8", "24"):
        assert math.isfinite(gui["edit_ms"][n]) and 0 < gui["edit_compute_ms"][n] <= gui["edit_ms"][n]
    assert gui["edits"] == 2 and len(gui["cold_start_runs_s"]) == 1
    assert 0 < gui["cold_start_s"] == gui["cold_start_runs_s"][0]
    table = out.split("edit → repaint", 1)[1]  # after the bench's own table
    assert [line.split()[0] for line in table.splitlines()[2:4]] == ["8", "24"]
    assert f"cold start to first paint: {gui['cold_start_s']:.2f} s" in table
