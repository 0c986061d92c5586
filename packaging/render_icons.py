"""Render assets/icons/attnstudio.svg to the PNG sizes desktops ask for, and pack .ico/.icns.

    python packaging/render_icons.py        # rewrites assets/icons/attnstudio-{16..512}.png

The PNGs are committed (a .desktop entry and the window need them without QtSvg at hand);
rerun this after editing the SVG. The .ico (Windows) and .icns (macOS) are packed from the
PNGs at build time by the spec (``write_ico`` / ``write_icns``) and never committed.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256, 512)
ICONS = Path(__file__).resolve().parent.parent / "assets" / "icons"


def png_name(size: int) -> str:
    return f"attnstudio-{size}.png"


def render_png(svg: Path, size: int):  # -> QImage
    """The SVG drawn into a transparent size × size image (antialiased)."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def render_all(svg: Path = ICONS / "attnstudio.svg", out: Path = ICONS) -> list[Path]:
    """Write every size; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([])
    written = []
    for size in SIZES:
        path = out / png_name(size)
        if not render_png(svg, size).save(str(path), "PNG"):
            raise SystemExit(f"render_icons: could not write {path}")
        written.append(path)
    return written


def write_ico(icons: Path, target: Path) -> Path:
    """A Windows .ico holding the 16–256 px PNGs (PNG entries: Windows Vista and later)."""
    sizes = [s for s in SIZES if s <= 256]
    blobs = [(icons / png_name(s)).read_bytes() for s in sizes]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries = b""
    for size, blob in zip(sizes, blobs):
        side = 0 if size == 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
    target.write_bytes(header + entries + b"".join(blobs))
    return target


# .icns element types that hold PNG data, by pixel size (1x and @2x variants).
_ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512),
    (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512),
)


def write_icns(icons: Path, target: Path) -> Path:
    """A macOS .icns of PNG elements (macOS 10.7 and later read them)."""
    body = b""
    for kind, size in _ICNS_TYPES:
        blob = (icons / png_name(size)).read_bytes()
        body += kind + struct.pack(">I", 8 + len(blob)) + blob
    target.write_bytes(b"icns" + struct.pack(">I", 8 + len(body)) + body)
    return target


if __name__ == "__main__":
    for p in render_all():
        print(f"{p.relative_to(ICONS.parent.parent)}  {p.stat().st_size:,} bytes")
    sys.exit(0)
