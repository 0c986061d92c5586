"""Export a lesson as slides, headless: one PNG per step, one PDF with a page per step, or an
animated GIF with a frame per step.

Each slide is composed, not a screenshot of the whole window: the lesson's name and "Step k
of n", the step's title, its narration and formula on the right, and the stage view of the
studio (title, formula line, the large heatmap and what sits beside it) on the left, drawn by
the real window (offscreen) after the lesson player applied the step. Slides use the light
high-contrast theme, the one made for projectors.

The PDF is drawn, not pasted: the header, narration and formula with ``drawText`` and the
stage view with ``QWidget.render``, so its words and numbers stay text (selectable,
searchable, sharp when projected) and a page weighs kilobytes, not the megabyte of an image.
Every file is written whole or not at all (``core.atomic``); a run that fails removes the
slides it wrote.

``attnstudio export --lesson ID|PATH --out DIR [--format png|pdf|gif] [--size 1920x1080]``
calls ``export_lesson``.
"""

from __future__ import annotations

import html
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtGui import QImage, QPainter

    from attnstudio.core.lessons import Lesson
    from attnstudio.qt.main_window import MainWindow

from attnstudio.studio.snapshot import MAX_ZOOM

SETTLE_TIMEOUT_S = 60.0
MIN_SIZE = (320, 240)
SCREEN = (1280, 720)  # the screen a slide's stage is laid out for, then drawn to the slide's size
MAX_SIZE = (7680, 4320)
THEME = "light"
MONOSPACE = "DejaVu Sans Mono"
FORMATS = ("png", "pdf", "gif")
GIF_STEP_MS = 6000  # long enough to read a step's narration


def _fail(message: str) -> int:
    print(f"attnstudio: error: {message}", file=sys.stderr)
    return 2


def slide_name(lesson_id: str, index: int, count: int) -> str:
    """``01-it-cat-step.png``: numbered so that a folder listing is the lesson's order."""
    return f"{index + 1:0{max(2, len(str(count)))}d}-{lesson_id}-step.png"


def export_lesson(id_or_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], fmt: str = "png",
                  size: tuple[int, int] = (1920, 1080)) -> int:
    """Render every step of a lesson to ``out_dir``: numbered PNG slides of exactly ``size``
    pixels, ``<lesson id>.pdf`` with one landscape page per step, or ``<lesson id>.gif``.
    For pdf and gif, ``out_dir`` may also name the file itself (``slides.pdf``).

    Returns 0; or prints one line to stderr and returns 2 when the lesson cannot be read,
    the format or size is wrong, or the folder cannot be written.
    """
    from attnstudio.core.errors import AttnStudioError
    from attnstudio.core.lessons import LessonError, load_lesson

    fmt = str(fmt).lower()
    if fmt not in FORMATS:
        return _fail(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
    if not str(os.fspath(out_dir)).strip():
        return _fail("the output folder is empty: give a folder (--out DIR)")
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        return _fail(f"size must be (width, height), not {size!r}")
    if not (MIN_SIZE[0] <= w <= MAX_SIZE[0] and MIN_SIZE[1] <= h <= MAX_SIZE[1]):
        return _fail(f"size {w}x{h} is outside {MIN_SIZE[0]}x{MIN_SIZE[1]} … {MAX_SIZE[0]}x{MAX_SIZE[1]}")
    try:
        lesson = load_lesson(id_or_path)
    except LessonError as exc:
        return _fail(str(exc))
    out = Path(out_dir)
    name = f"{lesson.id}.{fmt}"
    if fmt != "png" and out.suffix.lower() == f".{fmt}":  # a file, not a folder to put it in
        out, name = out.parent, out.name
    problem = _writable_folder(out)
    if problem:
        return _fail(problem)

    app = _application()
    if app is None:
        return _fail("a Qt GUI application without widgets is running: slides need QApplication")
    quiet = _QuietOffscreen()
    window = _slide_window((w, h))
    try:
        write = {"png": _export_png, "pdf": _export_pdf, "gif": _export_gif}[fmt]
        written = write(window, lesson, out, (w, h), name)
    except (_ExportError, AttnStudioError) as exc:
        return _fail(str(exc))
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
        quiet.restore()
    print(f"attnstudio: wrote {written} ({len(lesson.steps)} steps of '{lesson.id}', {w}x{h})")
    return 0


class _ExportError(Exception):
    pass


class _QuietOffscreen:
    """Drops the offscreen platform's note that it has no window manager to tell about size
    hints (harmless, and a script reading stderr must see only real errors); every other Qt
    message goes where it went before."""

    NOISE = "This plugin does not support propagateSizeHints()"

    def __init__(self) -> None:
        from PySide6.QtCore import qInstallMessageHandler

        self._previous = qInstallMessageHandler(self._handle)

    def _handle(self, mode: Any, context: Any, message: str) -> None:
        if message == self.NOISE:
            return
        if self._previous is not None:
            self._previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    def restore(self) -> None:
        from PySide6.QtCore import qInstallMessageHandler

        qInstallMessageHandler(self._previous)


def _writable_folder(out: Path) -> str:
    """'' when ``out`` is (or could be made) a folder we may write in, else why not."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{out} exists and is not a folder"
    except OSError as exc:
        return f"cannot create the folder {out}: {exc.strerror or exc}"
    if not out.is_dir():
        return f"{out} is not a folder"
    if not os.access(out, os.W_OK | os.X_OK):
        return f"the folder {out} is not writable"
    return ""


def _application() -> Any:
    """The running QApplication, or a new offscreen one (unless QT_QPA_PLATFORM says otherwise):
    export never shows a window, so a DISPLAY that does not answer must not abort it."""
    from attnstudio.qt.display_check import use_offscreen_unless_chosen

    use_offscreen_unless_chosen()
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    app = QCoreApplication.instance()
    if app is None:
        return QApplication(["attnstudio", "export"])
    return app if isinstance(app, QApplication) else None


# ---- the window that draws the stages -------------------------------------------------------
def _layout(size: tuple[int, int]) -> dict[str, Any]:
    """Where each part of a slide goes (px), for slides of ``size``."""
    from PySide6.QtCore import QRectF

    w, h = size
    u = min(w / 1920, h / 1080)  # one "slide pixel" of a 1920×1080 design
    m = 40 * u
    header = 128 * u
    top = m + header
    text_w = max(w * 0.34, 300 * u)
    body_h = h - top - m
    stage = QRectF(m, top, w - 3 * m - text_w, body_h)
    text = QRectF(w - m - text_w, top, text_w, body_h)
    return {"u": u, "m": m, "stage": stage, "text": text, "header_h": header}


def stage_only_window() -> MainWindow:
    """A studio window, never mapped on screen, that shows only its stage view: no menus,
    sentence, strips or side panels, and no "hover a cell…" line (it means nothing in a file)."""
    from PySide6.QtCore import Qt

    from attnstudio.qt.app import create_window

    window = create_window(interactive=False)  # a headless run reports on stderr, never in a dialog
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    for widget in (window.menuWidget(), window.statusBar(), window.sentence, window.token_strip,
                   window.stage_strip):
        if widget is not None:
            widget.hide()
    for dock in window.side_docks:
        dock.hide()
    window.stage_view.set_hover_lines(False)
    return window


def _slide_window(size: tuple[int, int]) -> MainWindow:
    """The stage-only window at the size the slide gives the stage, with text grown to match."""
    from PySide6.QtCore import QRectF

    window = stage_only_window()
    full = _layout(size)["stage"]
    # Laid out as on a 1280×720 screen and drawn larger (paint_slide scales the stage to its
    # box): on a 1920×1080 slide every label, tick and number is 1.5× what the window shows,
    # so row labels and the colour bar read from the back of a hall as the numbers do.
    k = max(1.0, min(size[0] / SCREEN[0], size[1] / SCREEN[1]))
    rect = QRectF(0, 0, full.width() / k, full.height() / k)
    window.studio.apply(theme=THEME, zoom=min(MAX_ZOOM, max(1.0, rect.height() / 620)))
    central = window.centralWidget()
    margins = central.layout().contentsMargins() if central is not None and central.layout() else None
    extra_w = (margins.left() + margins.right()) if margins else 0
    extra_h = (margins.top() + margins.bottom()) if margins else 0
    window.setMinimumSize(1, 1)
    window.resize(round(rect.width()) + extra_w, round(rect.height()) + extra_h)
    window.show()
    return window


def _settle(window: MainWindow, where: str) -> None:
    """Deliver pending edits and wait until the window shows their result."""
    from PySide6.QtWidgets import QApplication

    window.studio_qt.flush()
    deadline = time.perf_counter() + SETTLE_TIMEOUT_S
    while True:
        QApplication.processEvents()
        if window.idle:
            break
        if time.perf_counter() > deadline:
            raise _ExportError(f"{where}: still computing after {SETTLE_TIMEOUT_S:.0f} s")
        time.sleep(0.002)
    QApplication.processEvents()  # the deferred layout (e.g. the weights' row sums) runs now
    QApplication.processEvents()


def _steps(window: MainWindow, lesson: Lesson):
    """Yield (index, step) with the step applied and drawn on ``window``."""
    player = window.lesson_player
    for i, step in enumerate(lesson.steps):
        player.last_error = ""
        opened = player.open_lesson(lesson) if i == 0 else (player.go_to_step(i) or True)
        _settle(window, f"{lesson.id}, step {i + 1}")  # a step with large matrices: once seeded
        if not opened or player.step_index != i or player.last_error:
            raise _ExportError(player.last_error or f"{lesson.source}, step {i + 1}: cannot be shown")
        yield i, step


# ---- composing a slide ----------------------------------------------------------------------------
def compose_slide(window: MainWindow, lesson: Lesson, index: int, size: tuple[int, int]) -> QImage:
    """The slide of step ``index`` (already applied on ``window``) as a ``size`` image."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    paint_slide(p, window, lesson, index, size)
    p.end()
    return image


def paint_slide(p: QPainter, window: MainWindow, lesson: Lesson, index: int, size: tuple[int, int]) -> None:
    """Draw the slide of step ``index`` with ``p`` on a device of ``size`` slide pixels (an
    image, or a PDF page whose resolution puts one slide pixel on one device pixel). Text is
    drawn as text and the stage view draws itself, so a vector device keeps both as vectors."""
    from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPen, QRegion
    from PySide6.QtWidgets import QGraphicsView, QWidget

    from attnstudio.qt import theme as _theme

    c = _theme.colors(THEME)
    w, h = size
    lay = _layout(size)
    u, m = lay["u"], lay["m"]
    step = lesson.steps[index]
    p.fillRect(QRectF(0, 0, w, h), QColor(c["background"]))
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)

    # Header: where we are in the lesson, then the step's title.
    small = QFont()
    small.setPixelSize(max(10, round(24 * u)))
    p.setFont(small)
    p.setPen(QColor(c["muted"]))
    p.drawText(QRectF(m, m, w - 2 * m, 34 * u), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
               lesson.title)
    p.drawText(QRectF(m, m, w - 2 * m, 34 * u), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
               f"Step {index + 1} of {len(lesson.steps)}")
    big = QFont()
    big.setPixelSize(max(14, round(50 * u)))
    big.setBold(True)
    p.setFont(big)
    p.setPen(QColor(c["foreground"]))
    title_rect = QRectF(m, m + 34 * u, w - 2 * m, lay["header_h"] - 44 * u)
    p.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
               p.fontMetrics().elidedText(step.title, Qt.TextElideMode.ElideRight, int(title_rect.width())))
    p.setPen(QPen(QColor(c["accent"]), max(1.0, 3 * u)))
    y = m + lay["header_h"] - 6 * u
    p.drawLine(QPointF(m, y), QPointF(w - m, y))

    # The stage, as the studio draws it, fitted into its box.
    view = window.stage_view
    box = lay["stage"]
    p.setRenderHint(QPainter.RenderHint.LosslessImageRendering)  # a PDF would store cells as JPEG
    for graphics in view.findChildren(QGraphicsView):  # which sets its own hints when it paints
        graphics.setRenderHint(QPainter.RenderHint.LosslessImageRendering)
    if view.width() > 0 and view.height() > 0:
        scale = min(box.width() / view.width(), box.height() / view.height())
        p.save()
        p.translate(box.topLeft())
        p.scale(scale, scale)
        view.render(p, QPoint(0, 0), QRegion(), QWidget.RenderFlag.DrawChildren)  # the slide is the background
        p.restore()

    _draw_text_column(p, step.narration, step.formula, lay["text"], u, c)


def _draw_text_column(p: Any, narration: str, formula: str | None, box: Any, u: float, c: dict[str, str]) -> None:
    """Narration (rich text) and the formula in a box, shrinking the type until both fit."""
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QColor, QTextDocument

    pad = 18 * u
    for px in (30, 28, 26, 24, 22, 20, 18, 16, 14, 12):
        size = max(8, round(px * u))
        narr = QTextDocument()
        narr.setDocumentMargin(0)
        narr.setTextWidth(box.width())
        narr.setHtml(f"<div style='font-size:{size}px; color:{c['foreground']}; line-height:130%'>{narration}</div>")
        form = None
        if formula:
            form = QTextDocument()
            form.setDocumentMargin(0)
            form.setTextWidth(box.width() - 2 * pad)
            form.setHtml(f"<div style='font-family:\"{MONOSPACE}\", monospace; font-size:{size}px; "
                         f"color:{c['accent']}; white-space:pre-wrap'>{html.escape(formula)}</div>")
        needed = narr.size().height() + ((form.size().height() + 3 * pad) if form else 0)
        if needed <= box.height():
            break
    p.save()
    p.translate(box.topLeft())
    narr.drawContents(p)
    if form is not None:
        top = narr.size().height() + pad
        frame = QRectF(0, top, box.width(), form.size().height() + 2 * pad)
        p.setPen(QColor(c["border"]))
        p.setBrush(QColor(c["panel"]))
        p.drawRoundedRect(frame, 6 * u, 6 * u)
        p.translate(QPointF(pad, top + pad))
        form.drawContents(p)
    p.restore()


# ---- writing ------------------------------------------------------------------------------------
def _export_png(window: MainWindow, lesson: Lesson, out: Path, size: tuple[int, int], _name: str) -> str:
    from attnstudio.qt.render_files import save_image

    count = len(lesson.steps)
    written: list[Path] = []
    try:
        for i, _step in _steps(window, lesson):
            path = out / slide_name(lesson.id, i, count)
            save_image(compose_slide(window, lesson, i, size), path)
            written.append(path)
    except BaseException:
        for path in written:  # half a lesson is not a lesson
            path.unlink(missing_ok=True)
        raise
    return f"{count} PNG slides to {out}"


def _export_pdf(window: MainWindow, lesson: Lesson, out: Path, size: tuple[int, int], name: str) -> str:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

    from attnstudio.core.atomic import write_bytes

    path = out / name
    w, h = size
    # A 13.33 in wide page (a 16:9 presentation's), as tall as the slide's aspect asks,
    # at the resolution that puts one slide pixel on one device pixel.
    page_w_pt = 960.0
    page_h_pt = page_w_pt * h / w
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(max(1, round(w / (page_w_pt / 72))))
    writer.setTitle(f"{lesson.title} — attnstudio")
    writer.setCreator("attnstudio")
    portrait = QPageSize(QSizeF(min(page_w_pt, page_h_pt), max(page_w_pt, page_h_pt)), QPageSize.Unit.Point,
                         "slide", QPageSize.SizeMatchPolicy.ExactMatch)
    orientation = QPageLayout.Orientation.Landscape if w >= h else QPageLayout.Orientation.Portrait
    writer.setPageLayout(QPageLayout(portrait, orientation, QMarginsF(0, 0, 0, 0)))
    painter = QPainter()
    try:
        for i, _step in _steps(window, lesson):
            if i == 0:
                if not painter.begin(writer):
                    raise _ExportError(f"cannot write {path}")
            elif not writer.newPage():
                raise _ExportError(f"cannot add page {i + 1} to {path}")
            vp = painter.viewport()
            painter.save()
            painter.scale(vp.width() / w, vp.height() / h)  # slide pixels on the page, whatever rounding did
            paint_slide(painter, window, lesson, i, size)
            painter.restore()
    finally:
        if painter.isActive():
            painter.end()
    buf.close()
    if data.size() == 0:
        raise _ExportError(f"cannot write {path}")
    write_bytes(path, bytes(data.data()))
    return f"{path}, {len(lesson.steps)} pages"


def _export_gif(window: MainWindow, lesson: Lesson, out: Path, size: tuple[int, int], name: str) -> str:
    from attnstudio.core.atomic import write_bytes
    from attnstudio.core.gif import encode_gif
    from attnstudio.qt.render_files import image_rgb

    path = out / name
    frames = [image_rgb(compose_slide(window, lesson, i, size)) for i, _step in _steps(window, lesson)]
    write_bytes(path, encode_gif(frames, GIF_STEP_MS))
    return f"{path}, {len(frames)} frames"
