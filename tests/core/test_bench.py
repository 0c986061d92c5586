"""`attnstudio bench`: everything a run needs is checked before the first timing, in bench's
own terms, and the progress on a terminal does not print the table's numbers a second time."""

from __future__ import annotations

import io
import re

import pytest

from attnstudio.cli import main
from attnstudio.core.bench import run_bench


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
    timings = re.findall(r"\rN=\s+\d+ +\w+: +[\d.]+ ms\x1b\[K", text)
    assert len(timings) >= 2
    assert not re.search(r"N=\s+\d+ +\w+: +[\d.]+ ms\n", text)  # no line of numbers stays
    assert text.replace("".join(timings), "").startswith("\r\x1b[K")  # cleared before the table


def test_progress_elsewhere_is_one_line_per_timing() -> None:
    log = io.StringIO()
    run_bench([4, 8], d_k=4, repeat=1, progress=log)
    assert re.findall(r"^N=\s+(\d+) numpy: +[\d.]+ ms$", log.getvalue(), re.M) == ["4", "8"]


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
