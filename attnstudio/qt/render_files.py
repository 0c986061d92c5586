"""Widgets drawn into files: a PNG of its pixels, an SVG drawn by the widget itself (so the
numbers stay ``<text>``, sharp at any size), and RGB frames for a GIF.

Each file is made in memory and written with ``core.atomic.write_bytes``, so it lands whole
or not at all and a failure is an ExportError of one line naming the file. The SVG comes
from QSvgGenerator and ``QWidget.render``: pyqtgraph's own SVG exporter fails on recent Qt.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

from attnstudio.core.atomic import ExportError, check_target, write_bytes


def image_bytes(image: QImage, fmt: str = "PNG") -> bytes:
    """``image`` encoded as ``fmt`` in memory."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, fmt):
        raise ExportError(f"cannot encode the image as {fmt}")
    buf.close()
    return bytes(data.data())


def save_image(image: QImage, path: str | os.PathLike[str], fmt: str = "PNG") -> Path:
    check_target(path)
    return write_bytes(path, image_bytes(image, fmt))


def save_widget_png(widget: QWidget, path: str | os.PathLike[str]) -> Path:
    """The widget's pixels as drawn on screen."""
    check_target(path)
    return save_image(widget.grab().toImage(), path)


def widget_svg(widget: QWidget, title: str = "", description: str = "") -> bytes:
    """The widget drawn into an SVG of its size in pixels."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    size = widget.size()
    gen.setSize(QSize(size.width(), size.height()))
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setResolution(96)
    gen.setTitle(title or "attnstudio")
    gen.setDescription(description or "Drawn by attnstudio")
    painter = QPainter()
    if not painter.begin(gen):
        raise ExportError("cannot start drawing the SVG")
    try:
        widget.render(painter, QPoint(0, 0))
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


def save_widget_svg(widget: QWidget, path: str | os.PathLike[str], title: str = "") -> Path:
    check_target(path)
    return write_bytes(path, widget_svg(widget, title))


def image_rgb(image: QImage) -> np.ndarray:
    """An H × W × 3 uint8 copy of ``image``'s pixels."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    raw = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return raw[:, : 3 * w].reshape(h, w, 3).copy()


def widget_rgb(widget: QWidget, size: tuple[int, int] | None = None) -> np.ndarray:
    """The widget's pixels as an RGB array, scaled to fit ``size`` (keeping its aspect) when given."""
    image = widget.grab().toImage()
    if size is not None and (image.width() > size[0] or image.height() > size[1]):
        from PySide6.QtCore import Qt

        image = image.scaled(size[0], size[1], Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return image_rgb(image)


def fit_frame(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` cropped or padded (with its top-left colour, the background) to ``size``
    (width, height): a GIF's frames must all be one size, and a stage may lay out a pixel
    larger or smaller than the one before it."""
    w, h = size
    out = np.empty((h, w, 3), dtype=np.uint8)
    out[:] = rgb[0, 0] if rgb.size else 0
    ch, cw = min(h, rgb.shape[0]), min(w, rgb.shape[1])
    out[:ch, :cw] = rgb[:ch, :cw]
    return out
