"""A picture of work the core refuses is refused too: the window would show only the
message, so the 'export' would be a picture of an error, written with exit status 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from attnstudio.cli import main


@pytest.mark.parametrize(
    ("sentence", "message"),
    [
        ("caf\udce9", "the sentence holds bytes that are not UTF-8 text: byte 0xe9 at character 4"),
        ("", "the sentence is empty: type at least one word"),
        (" ".join(["w"] * 3000), "3,000 tokens × 1 layer × 1 head needs ≈ "),
    ],
    ids=["not text", "empty", "too large"],
)
def test_a_picture_of_work_the_core_refuses_is_one_line_and_no_file(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sentence: str,
        message: str) -> None:
    monkeypatch.setattr("attnstudio.core.memory.available_bytes", lambda: 10**6)
    monkeypatch.setattr("attnstudio.core.memory.CHECK_ABOVE", 0)
    out = tmp_path / "stage.png"
    code = main(["export", "--sentence", sentence, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"attnstudio: error: {message}") and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("stage.pdf", None, "stage.pdf: a PDF holds a lesson's steps (--lesson ID --out FILE.pdf); one stage"),
        ("stage.png", "pdf", "a PDF holds a lesson's steps"),
        ("stage.jpg", None, "stage.jpg: .jpg is not a format a stage exports as: use png, svg, gif, csv, npy"),
    ],
    ids=["pdf suffix", "pdf format", "unknown suffix"],
)
def test_a_stage_is_not_written_under_a_name_that_promises_another_format(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, fmt: str | None, message: str) -> None:
    out = tmp_path / name
    code = main(["export", "--sentence", "the cat sat", "--out", str(out), *(["--format", fmt] if fmt else [])])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_a_stage_named_without_a_suffix_is_a_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "stage"
    assert main(["export", "--sentence", "the cat sat", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
