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
    assert out.err == "" and f"{len(lesson.steps)} PNG slides" in out.out


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
    ("it-cat", None, "svg", (800, 600), "svg"),
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


def test_pdf_pages_are_drawn_with_text_not_pasted_as_images(qtbot, tmp_path):
    """Text stays text: the PDF has fonts, is a few tens of kB a page (an image per page was
    ~300 kB), and pdftotext (when installed) finds the title, the narration and the numbers."""
    import shutil
    import subprocess

    lesson = load_lesson("it-cat")
    assert export_lesson("it-cat", tmp_path, "pdf", (1920, 1080)) == 0
    path = tmp_path / "it-cat.pdf"
    pdf = path.read_bytes()
    assert b"/Font" in pdf
    assert len(pdf) < 40_000 * len(lesson.steps)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-f", "6", "-l", "6", str(path), "-"], capture_output=True,
                              text=True, check=True).stdout
        for words in (lesson.steps[5].title, f"Step 6 of {len(lesson.steps)}", "0.55", "tired"):
            assert words in text, words


def test_lesson_gif_has_a_frame_per_step(qtbot, tmp_path):
    """Read back by Qt's own GIF reader (not the writer's code)."""
    from PySide6.QtGui import QImageReader

    lesson = load_lesson("causal")
    assert export_lesson("causal", tmp_path, "gif", (640, 360)) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["causal.gif"]
    reader = QImageReader(str(tmp_path / "causal.gif"))
    frames = []
    while True:
        image = reader.read()
        if image.isNull():
            break
        frames.append(image)
    assert len(frames) == len(lesson.steps)
    assert {(f.width(), f.height()) for f in frames} == {(640, 360)}
    assert colours(frames[0]) > 20
    assert len({bytes(f.convertToFormat(QImage.Format.Format_RGB32).constBits()) for f in frames}) == len(frames)


def test_an_empty_out_is_refused_not_read_as_here(qtbot, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert export_lesson("it-cat", "", "png", (800, 600)) == 2
    assert "empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


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


@pytest.mark.parametrize("size, k", [((1920, 1080), 1.5), ((3840, 2160), 3.0), ((1280, 720), 1.0)])
def test_a_slides_stage_is_laid_out_for_a_screen_and_drawn_larger(qtbot, size, k):
    """On a 1920×1080 slide the stage is drawn 1.5× the size of a 1280×720 screen's, so
    row labels and colour-bar ticks, which keep their pixel size in the window, grow with
    the slide like everything else (at 1:1 they read 13 px on a 1920 px slide)."""
    from attnstudio.qt.export import _layout, _slide_window

    window = _slide_window(size)
    try:
        box = _layout(size)["stage"]
        view = window.stage_view
        drawn = min(box.width() / view.width(), box.height() / view.height())
        assert drawn == pytest.approx(k, rel=0.03)
    finally:
        window.close()
        window.deleteLater()
