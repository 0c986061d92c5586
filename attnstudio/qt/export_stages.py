"""Export a piece of work (a workspace or a sentence), headless: the stage on view as PNG or
SVG, a matrix of its computation as CSV or ``.npy``, or an animated GIF that steps through
every stage.

Pictures are drawn by the real window (offscreen, chrome hidden, the stage view at the
requested size), so they show what the studio shows; the SVG keeps the numbers as text.
Matrices need no window: they come from the same computation (``studio.inputs.run``) with
every digit. Each file is written whole or not at all (``core.atomic``).

``attnstudio export --workspace F.attn | --sentence TEXT --out FILE [--format …] [--stage …]
[--matrix …] [--layer L --head H] [--size WxH] [--theme light|dark]`` calls ``export_work``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from attnstudio.core.atomic import check_target, write_bytes
from attnstudio.core.errors import AttnStudioError
from attnstudio.core.trace import MATRIX_NAMES, STAGE_KEYS, STAGE_MATRIX, STAGES
from attnstudio.studio.model import StudioModel

if TYPE_CHECKING:
    from attnstudio.qt.main_window import MainWindow
    from attnstudio.studio.snapshot import Snapshot

PICTURE_FORMATS = ("png", "svg", "gif")
MATRIX_FORMATS = ("csv", "npy")
FORMATS = (*PICTURE_FORMATS, *MATRIX_FORMATS)
WEIGHT_MATRICES = ("w_q", "w_k", "w_v", "w_o")
GIF_STAGE_MS = 2500
DEFAULT_SIZE = {"png": (1280, 720), "svg": (1280, 720), "gif": (960, 540)}
LAYOUT_MIN = (1280, 720)  # a GIF's stage is laid out at least this large, then scaled down
_TITLES = dict(STAGES)


def format_for(out: str | os.PathLike[str], fmt: str | None) -> str:
    """The format asked for, or the one the output file's suffix names (png when it has none).

    A suffix that names no format a stage exports as (``stage.pdf``, ``stage.jpg``) is
    refused rather than given PNG bytes under a name that promises something else.
    """
    if fmt:
        fmt = fmt.lower()
        if fmt == "pdf":
            raise AttnStudioError("a PDF holds a lesson's steps (--lesson ID --out FILE.pdf); one stage exports "
                                  f"as {', '.join(FORMATS)}")
        return fmt
    suffix = Path(os.fspath(out)).suffix.lower().lstrip(".")
    if not suffix or suffix in FORMATS:
        return suffix or "png"
    if suffix == "pdf":
        raise AttnStudioError(f"{os.fspath(out)}: a PDF holds a lesson's steps (--lesson ID --out FILE.pdf); one "
                              f"stage exports as {', '.join(FORMATS)}")
    raise AttnStudioError(f"{os.fspath(out)}: .{suffix} is not a format a stage exports as: use "
                          f"{', '.join(FORMATS)} (the suffix or --format)")


def export_work(snap: Snapshot, out: str | os.PathLike[str], fmt: str, stage: str | None = None,
                matrix: str | None = None, layer: int | None = None, head: int | None = None,
                size: tuple[int, int] | None = None, theme: str = "light") -> int:
    """Write one file from ``snap``'s work; 0, or one line on stderr and 2.

    ``stage`` (default: the one on view) picks what a PNG/SVG shows and which matrix CSV/.npy
    hold; ``matrix`` names any matrix instead (MATRIX_NAMES or w_q, w_k, w_v, w_o).
    ``layer``/``head`` count from 0 (default: the ones on view). A GIF shows every stage.
    """
    from attnstudio.qt.export import _fail

    try:
        model = StudioModel()
        model.restore(snap)
        message = _export(model, out, fmt, stage, matrix, layer, head, size, theme)
    except AttnStudioError as exc:
        return _fail(str(exc))
    print(f"attnstudio: wrote {message}")
    return 0


def _export(model: StudioModel, out: str | os.PathLike[str], fmt: str, stage: str | None, matrix: str | None,
            layer: int | None, head: int | None, size: tuple[int, int] | None, theme: str) -> str:
    if fmt not in FORMATS:
        raise AttnStudioError(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
    if stage is not None and stage not in STAGE_KEYS:
        raise AttnStudioError(f"unknown stage {stage!r}: one of {', '.join(STAGE_KEYS)}")
    if matrix is not None and (fmt not in MATRIX_FORMATS or stage is not None):
        raise AttnStudioError("--matrix is for csv or npy, instead of --stage")
    if fmt == "gif" and stage is not None:
        raise AttnStudioError("a GIF steps through every stage: leave out --stage")
    s = model.settings
    li = model.layer if layer is None else layer
    hi = model.head if head is None else head
    if not (0 <= li < s.layers and 0 <= hi < s.heads):
        raise AttnStudioError(f"layer {li + 1}, head {hi + 1} does not exist: this work has {s.layers} layer(s) "
                              f"of {s.heads} head(s)")
    target = check_target(out)
    model.apply(layer=li, head=hi, **({"stage": stage} if stage else {}))
    if fmt in MATRIX_FORMATS:
        return _write_matrix(model, target, fmt, matrix or STAGE_MATRIX[model.stage][0], li, hi)
    _check_computable(model)
    return _write_picture(model, target, fmt, size or DEFAULT_SIZE[fmt], theme)


def _check_computable(model: StudioModel) -> None:
    """Raise what the core would say about the model's inputs (not text, empty, too large
    for memory): the window would only show that message, and a picture of it is no export."""
    from attnstudio.core.memory import check_memory

    inputs = model.inputs()
    if inputs.error is not None:
        raise AttnStudioError(inputs.error)
    check_memory(inputs.n, inputs.settings)


def _write_matrix(model: StudioModel, target: Path, fmt: str, name: str, li: int, hi: int) -> str:
    from attnstudio.core.matrix_files import matrix_to_csv, matrix_to_npy
    from attnstudio.studio.inputs import run

    where = f"layer {li + 1}" if name in ("input", "concat", "heads", "w_o") else f"layer {li + 1}, head {hi + 1}"
    if name in WEIGHT_MATRICES:
        values = np.asarray(model.matrix(name, li, hi), dtype=np.float64)
    elif name in MATRIX_NAMES:
        inputs = model.inputs()
        if inputs.error is not None:
            raise AttnStudioError(inputs.error)
        trace = run(inputs).host()
        found = trace.matrix(name, li, hi)
        if found is None:
            raise AttnStudioError(f"there is no {name} matrix: positional encoding is off")
        values = np.asarray(found, dtype=np.float64)
        if name in ("embeddings", "positions", "x"):
            where = "before layer 1"
    else:
        raise AttnStudioError(f"unknown matrix {name!r}: one of {', '.join((*MATRIX_NAMES, *WEIGHT_MATRICES))}")
    label = f"{name} ({where}), {values.shape[0]} × {values.shape[1]}"
    data = matrix_to_csv(values, f"attnstudio: {label}").encode() if fmt == "csv" else matrix_to_npy(values)
    write_bytes(target, data)
    return f"{target} ({label})"


def _write_picture(model: StudioModel, target: Path, fmt: str, size: tuple[int, int], theme: str) -> str:
    from attnstudio.qt.export import _application, _QuietOffscreen, _settle

    app = _application()
    if app is None:
        raise AttnStudioError("a Qt GUI application without widgets is running: pictures need QApplication")
    quiet = _QuietOffscreen()
    # A GIF smaller than a 1280×720 screen is laid out at that screen's size and its frames
    # scaled down: laid out at 960×540 itself, the colour bar's caption ran under the Σ column.
    k = max(1.0, LAYOUT_MIN[0] / size[0], LAYOUT_MIN[1] / size[1]) if fmt == "gif" else 1.0
    window = stage_window(model.snapshot(), (round(size[0] * k), round(size[1] * k)), theme)
    try:
        _settle(window, "the work")
        if window.trace is None:
            raise AttnStudioError("nothing to draw: the work has no tokens or cannot be computed")
        return _draw(window, target, fmt, size)
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
        quiet.restore()


def _draw(window: MainWindow, target: Path, fmt: str, frame: tuple[int, int]) -> str:
    from attnstudio.core.gif import encode_gif
    from attnstudio.qt.export import _settle
    from attnstudio.qt.render_files import fit_frame, save_widget_png, save_widget_svg, widget_rgb

    view = window.stage_view
    stage = window.studio.stage
    size = f"{view.width()}x{view.height()}"
    if fmt == "png":
        save_widget_png(view, target)
        return f"{target} ({_TITLES[stage]}, {size})"
    if fmt == "svg":
        save_widget_svg(view, target, f"{_TITLES[stage]} — attnstudio")
        return f"{target} ({_TITLES[stage]}, {size})"
    frames = []
    first: tuple[int, int] | None = None
    for key in STAGE_KEYS:
        window.studio.set_stage(key)
        _settle(window, f"stage {key}")
        rgb = widget_rgb(view, frame)  # scaled down to the GIF's size when laid out larger
        first = first or (rgb.shape[1], rgb.shape[0])
        frames.append(fit_frame(rgb, first))
    assert first is not None
    write_bytes(target, encode_gif(frames, GIF_STAGE_MS))
    return f"{target} ({len(frames)} stages, {first[0]}x{first[1]})"


def stage_window(snap: Snapshot, size: tuple[int, int], theme: str = "light") -> MainWindow:
    """A studio window, never mapped on screen, showing ``snap`` with only its stage view,
    which is ``size`` pixels."""
    from PySide6.QtWidgets import QApplication

    from attnstudio.qt.export import stage_only_window

    window = stage_only_window()
    window.studio.restore(snap)
    window.studio.apply(theme=theme)
    window.setMinimumSize(1, 1)
    window.resize(*size)
    window.show()
    QApplication.processEvents()  # the layout places the stage view
    extra = window.size() - window.stage_view.size()
    window.resize(size[0] + extra.width(), size[1] + extra.height())
    return window
