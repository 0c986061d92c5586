"""Headless export of a lesson: one PNG per step of exactly the requested size, or one PDF with
a page per step; bad lessons and unwritable folders give one line on stderr and status 2."""

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from attnstudio.core.lessons import load_lesson
from attnstudio.qt.export import export_lesson, slide_name

ROOT = Path(__file__).resolve().parents[2]  # `python -m attnstudio` runs this checkout


def colours(image: QImage) -> int:
    small = image.scaled(64, 36)
    return len({small.pixel(x, y) for x in range(64) for y in range(36)})


def test_png_slides_one_per_step_of_exactly_the_size(qtbot, tmp_path, capsys):
    lesson = load_lesson("it-cat")
    assert export_lesson("it-cat", tmp_path, "png", (960, 540)) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [slide_name("it-cat", i, len(lesson.steps)) for i in range(len(lesson.steps))]
    assert files[0] == "01-it-cat-step.png"
    images = [QImage(str(tmp_path / f)) for f in files]
    assert all((im.width(), im.height()) == (960, 540) for im in images)
    assert all(colours(im) > 20 for im in images)  # drawn, not a flat page
    # Each step is its own slide (title, narration and numbers change).
    assert len({bytes(im.constBits()) for im in images}) == len(images)
    out = capsys.readouterr()
    assert out.err == "" and "7 PNG slides" in out.out


def test_png_of_a_lesson_file_at_another_size(qtbot, tmp_path):
    from attnstudio.resources import lessons_dir

    out = tmp_path / "new" / "folder"  # created on the way
    assert export_lesson(lessons_dir() / "temperature.toml", out, "png", (640, 480)) == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == len(load_lesson("temperature").steps)
    assert {(QImage(str(f)).width(), QImage(str(f)).height()) for f in files} == {(640, 480)}


def test_pdf_has_one_landscape_page_per_step(qtbot, tmp_path):
    lesson = load_lesson("causal")
    assert export_lesson("causal", tmp_path, "pdf", (1280, 720)) == 0
    pdf = (tmp_path / "causal.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)
    assert len(pages) == len(lesson.steps)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(float(w) > float(h) for w, h in boxes)


@pytest.mark.parametrize(("lesson", "where", "fmt", "size", "says"), [
    ("no-such-lesson", None, "png", (800, 600), "no-such-lesson"),
    ("it-cat", "file", "png", (800, 600), "not a folder"),
    ("it-cat", "under-file", "pdf", (800, 600), "cannot create the folder"),
    ("it-cat", None, "gif", (800, 600), "gif"),
    ("it-cat", None, "png", (10, 10), "10x10"),
])
def test_bad_input_is_one_line_and_status_2(qtbot, tmp_path, capsys, lesson, where, fmt, size, says):
    target = tmp_path / "out"
    if where == "file":
        target.write_text("a file where the folder should be")
    elif where == "under-file":
        (tmp_path / "plain").write_text("x")
        target = tmp_path / "plain" / "slides"
    assert export_lesson(lesson, target, fmt, size) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("attnstudio: error: ") and says in err
    assert not list(tmp_path.rglob("*.png")) and not list(tmp_path.rglob("*.pdf"))


def test_the_command_line_export_writes_only_its_summary(qtbot, tmp_path):
    """`attnstudio export` in a fresh process (offscreen, as on a server): stderr stays empty."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    run = subprocess.run([sys.executable, "-m", "attnstudio", "export", "--lesson", "sparsemax", "--out",
                          str(tmp_path), "--size", "800x450"], capture_output=True, text=True, env=env, timeout=120,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert len(list(tmp_path.glob("*-sparsemax-step.png"))) == len(load_lesson("sparsemax").steps)
    bad = subprocess.run([sys.executable, "-m", "attnstudio", "export", "--lesson", "sparsemax", "--out",
                          str(tmp_path / "01-sparsemax-step.png" / "x")], capture_output=True, text=True, env=env,
                         timeout=120, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stderr.startswith("attnstudio: error:")
