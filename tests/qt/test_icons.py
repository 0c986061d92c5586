"""The app icon: committed PNGs match the SVG, the design survives 16 px, .ico/.icns are well formed."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from attnstudio.resources import icon_path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("render_icons", ROOT / "packaging" / "render_icons.py")
render_icons = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(render_icons)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("size", render_icons.SIZES)
def test_committed_png_is_the_svg_rendered(qtbot, size):
    committed = QImage(str(icon_path(render_icons.png_name(size))))
    assert (committed.width(), committed.height()) == (size, size)
    fresh = render_icons.render_png(Path(str(icon_path("attnstudio.svg"))), size)
    committed = committed.convertToFormat(fresh.format())
    worst = max(
        abs(a - b)
        for y in range(0, size, max(1, size // 32))
        for x in range(0, size, max(1, size // 32))
        for a, b in zip(QColor(fresh.pixel(x, y)).getRgb(), QColor(committed.pixel(x, y)).getRgb())
    )
    assert worst <= 8, f"assets/icons/{render_icons.png_name(size)} is stale: rerun packaging/render_icons.py"


def test_at_16_px_the_highlighted_row_still_reads(qtbot):
    """Whole-pixel cells at 16 px: the middle row's middle cell is orange, the corners blue."""
    img = QImage(str(icon_path("attnstudio-16.png")))
    centre = QColor(img.pixel(7, 7))
    assert centre.red() > 200 and centre.blue() < 80
    for x, y in ((2, 2), (13, 2), (13, 13)):
        corner = QColor(img.pixel(x, y))
        assert corner.blue() > corner.red() + 40, (x, y, corner.getRgb())
    assert QColor(img.pixel(5, 7)).alpha() == 255  # the gap between cells is background, not transparent


def test_ico_holds_every_size_up_to_256_as_png(qtbot, tmp_path):
    data = render_icons.write_ico(Path(str(icon_path("attnstudio.svg"))).parent, tmp_path / "a.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _, _, planes, bits, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        assert data[offset:offset + 8] == PNG_MAGIC and (planes, bits) == (1, 32)
        image = QImage.fromData(data[offset:offset + length], "PNG")
        assert image.width() == (w or 256) == (h or 256)
        sizes.append(image.width())
    assert sizes == [s for s in render_icons.SIZES if s <= 256]


def test_icns_length_fields_add_up(qtbot, tmp_path):
    data = render_icons.write_icns(Path(str(icon_path("attnstudio.svg"))).parent, tmp_path / "a.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    pos, kinds = 8, []
    while pos < len(data):
        kind, length = data[pos:pos + 4], struct.unpack_from(">I", data, pos + 4)[0]
        assert data[pos + 8:pos + 16] == PNG_MAGIC
        kinds.append(kind)
        pos += length
    assert pos == len(data)
    assert b"ic08" in kinds and b"icp4" in kinds  # 256 px and 16 px
