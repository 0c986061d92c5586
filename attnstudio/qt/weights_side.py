"""Row sums and row entropy beside the weights: is each row a distribution, and how sharp?

Σ_j a_ij should be 1 for every row; H_i = −Σ_j a_ij log₂ a_ij (bits) runs from 0 (all weight
on one key: too sharp) to log₂ N (uniform: too diffuse). Both come from the trace
(HeadTrace.row_sums / row_entropy); this widget only draws them, one line per row while
rows fit, and a summary when they do not.

Σ is the sum of the weights as computed; the cells beside it show each weight rounded to two
decimals, and a student who adds up a row of them may get 1.01 next to "Σ 1.000". Such a
row carries "≈", and the key under the rows says what its rounded cells add to, and what the
cells' marks mean ("—" masked, "0" exactly zero, "<0.01" not zero): nothing beside the
matrix then contradicts what a calculator gets from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from attnstudio.core.numbers import (
    BELOW_CELL,
    LARGE,
    MASKED_MARK,
    format_cell,
    format_column,
    format_weight,
    parse_shown,
    reads_as,
)
from attnstudio.qt import theme as _theme

MIN_ROW_PX = 16.0
ROUNDED_MARK = "≈"  # beside a Σ its row's rounded cells do not add up to


def rounded_row_sums(cells: np.ndarray, masked: np.ndarray | None = None) -> np.ndarray:
    """What a calculator gets adding up each row of weights as the cells show them
    (numbers.format_weight: "—" and "<0.01" count as 0).

    The two decimals a cell prints are its value rounded to hundredths (Python's correctly
    rounded format): rint(100·w) gives the same digits except for a value within a hair of
    a half hundredth, or one format_weight writes otherwise (NaN, ±∞, ≥ 1e4); those few are
    formatted one by one. A Python loop over every cell took 8 ms at 64 × 64 on each edit.
    """
    cells = np.atleast_2d(np.asarray(cells, dtype=np.float64))
    hidden = np.zeros(cells.shape, dtype=bool) if masked is None else np.asarray(masked, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        hundredths = cells * 100.0
        near_half = np.abs(hundredths - np.floor(hundredths) - 0.5) < 1e-6
        plain = np.isfinite(cells) & (np.abs(cells) < LARGE) & ~near_half
        shown = np.where(plain, np.rint(hundredths) / 100.0, 0.0)
    shown[hidden] = 0.0
    for r, c in zip(*np.nonzero(~plain & ~hidden)):
        t = format_weight(float(cells[r, c]))
        shown[r, c] = 0.0 if t == BELOW_CELL else parse_shown(t)
    return np.array([math.fsum(row) for row in shown.tolist()], dtype=np.float64).reshape(cells.shape[0])


def _finite_range(v: np.ndarray) -> tuple[float, float, float]:
    """(min, max, mean) of the finite entries; NaN for each when there is none (an overflowed
    naive softmax), without NumPy's all-NaN warnings."""
    finite = v[np.isfinite(v)]
    if not finite.size:
        return math.nan, math.nan, math.nan
    return float(finite.min()), float(finite.max()), float(finite.mean())


class WeightsSide(QWidget):
    """Σ row and H (bits) per query row, with a bar of H / log₂ N."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._labels: list[str] = []
        self._sums = np.zeros(0)
        self._entropy = np.zeros(0)
        self._max_bits = 1.0
        self._highlight = -1
        self._scale = 1.0
        self._colors = _theme.colors("dark")
        self._geometry: tuple[float, float] | None = None  # centre of row 0, row pitch (px)
        self._rounded = np.zeros(0)  # what each row's shown cells add to (NaN: not known)
        self._key: list[str] = []
        self._off: list[int] = []  # the rows marked ≈ (off_rows)
        self._covered: frozenset[int] = frozenset()
        self._winners: list[str] = []  # each row's key with the most weight ('' for none)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def set_rows(self, labels: Sequence[str], sums: np.ndarray, entropy: np.ndarray, n_keys: int,
                 cells: np.ndarray | None = None, masked: np.ndarray | None = None,
                 covered_rows: Sequence[int] = (), winners: Sequence[str] = ()) -> None:
        """One entry per query row; ``n_keys`` sets the scale of H (log₂ n_keys bits at most).

        ``cells``: the weights as the heatmap beside shows them, one row per entry (with
        ``masked``, where the mask hid the key): rows whose rounded cells do not add up to
        their Σ are marked, and the key under the rows explains the cells' marks.
        ``covered_rows``: rows a lesson's question waits on; they show "?" (their numbers, and
        their cells, are NaN here: nothing of them is kept). ``winners``: each row's key with
        the largest weight (core.explain.row_winners; '' for none), written over its H bar.
        """
        self._covered = frozenset(int(r) for r in covered_rows)
        self._labels = list(labels)
        self._winners = [w if i not in self._covered else "" for i, w in enumerate(winners)]
        self._sums = np.asarray(sums, dtype=np.float64)
        self._entropy = np.asarray(entropy, dtype=np.float64)
        self._max_bits = math.log2(n_keys) if n_keys > 1 else 1.0
        self._rounded = np.full(self._sums.shape, np.nan)
        self._key = []
        if cells is not None and np.ndim(cells) == 2 and len(cells) == len(self._sums):
            if masked is not None and np.shape(masked) != np.shape(cells):
                masked = None
            shown = np.array(cells, dtype=np.float64)
            for r in self._covered:
                if 0 <= r < len(shown):
                    shown[r] = 0.0
            self._rounded = rounded_row_sums(shown, masked)
            for r in self._covered:
                if 0 <= r < len(self._rounded):
                    self._rounded[r] = np.nan
        # Asked on every paint: worked out once per rows given.
        # A row whose rounded cells add to its Σ at three decimals is not marked: found for all
        # rows at once, away from a half thousandth (where NumPy's rounding and the printed
        # digits may part); the rest are read as written, one by one.
        sums, rounded = self._sums, self._rounded
        with np.errstate(invalid="ignore", over="ignore"):
            thousandths = sums * 1000.0
            clear = np.abs(thousandths - np.floor(thousandths) - 0.5) > 1e-6
            agree = clear & (np.abs(sums) < LARGE) & (np.rint(thousandths) / 1000.0 == rounded)
        both = np.flatnonzero(np.isfinite(sums) & np.isfinite(rounded) & ~agree)
        self._off = [int(i) for i in both if not reads_as(rounded[i], format_column(sums[i], 3))]
        if cells is not None and np.ndim(cells) == 2 and len(cells) == len(self._sums):
            self._key = self._make_key(np.asarray(cells, dtype=np.float64), masked)
        self.update()

    def off_rows(self) -> list[int]:
        """The rows marked ≈: their rounded cells add up to something their Σ does not show."""
        return list(self._off)

    def key(self) -> list[str]:
        """The lines under the rows: what the marks in the cells and beside Σ mean (only those shown)."""
        return list(self._key)

    def _make_key(self, cells: np.ndarray, masked: np.ndarray | None) -> list[str]:
        hidden = np.zeros(cells.shape, dtype=bool) if masked is None else np.asarray(masked, dtype=bool)
        key = []
        if hidden.any():
            key.append(f"{MASKED_MARK}  masked: no weight")
        if ((cells == 0) & ~hidden).any():
            key.append("0  exactly zero")
        if ((cells > 0) & (cells < 0.005)).any():
            key.append(f"{BELOW_CELL}  not 0, but below 0.005")
        off = self.off_rows()
        if off:
            adds = sorted({format_column(self._rounded[i], 2) for i in off})
            key.append(f"{ROUNDED_MARK}  its rounded cells add to {' or '.join(adds)}; Σ adds the exact weights")
        return key

    def set_row_geometry(self, geometry: tuple[float, float] | None) -> None:
        """Align rows with a heatmap: (y of row 0's centre, pixels per row); None: own layout."""
        if geometry != self._geometry:
            self._geometry = geometry
            self.update()

    def set_highlight(self, row: int) -> None:
        self._highlight = row
        self.update()

    def set_theme(self, name: str) -> None:
        self._colors = _theme.colors(name)
        self.update()

    def set_font_scale(self, factor: float) -> None:
        self._scale = factor
        self.updateGeometry()
        self.update()

    def lines(self) -> list[str]:
        """What the widget shows, as text (tests read it; it is also the summary)."""
        off = set(self.off_rows())
        out = []
        for i, (lab, s, h) in enumerate(zip(self._labels, self._sums, self._entropy)):
            if i in self._covered:
                out.append(f"{lab}: Σ = ?, H = ? bits")
                continue
            adds = format_column(self._rounded[i], 2)
            mark = f" {ROUNDED_MARK} (its rounded cells add to {adds})" if i in off else ""
            top = self._winners[i] if i < len(self._winners) else ""
            top = f", most weight: {top}" if top else ""
            out.append(f"{lab}: Σ = {format_column(s, 3)}{mark}, H = {format_cell(h)} bits{top}")
        return out

    def summary(self) -> str:
        if not self._sums.size:
            return ""
        s, h = self._sums, self._entropy
        (s_lo, s_hi, _), (h_lo, h_hi, h_mean) = _finite_range(s), _finite_range(h)
        # A row that is not a distribution: NaN (an exp overflowed to ∞, or all underflowed to
        # 0) or 0 (naive softmax whose sum overflowed: every weight x/∞ = 0).
        bad = int(np.count_nonzero(~np.isfinite(s) | (s == 0))) - len(self._covered)
        text = (f"{s.size:,} rows · Σ from {format_column(s_lo, 3)} to {format_column(s_hi, 3)}\n"
                f"H from {format_cell(h_lo)} to {format_cell(h_hi)} bits (mean {format_cell(h_mean)}; "
                f"uniform = {format_cell(self._max_bits)})")
        if bad:
            text += (f"\n{bad:,} row{' is' if bad == 1 else 's are'} not a distribution: exp overflowed or "
                     "underflowed (see the warning)")
        return text

    def sizeHint(self) -> QSize:
        return QSize(round(200 * self._scale), 300)

    def _font(self, px: float, bold: bool = False) -> QFont:
        f = QFont(self.font())
        f.setPixelSize(max(8, round(px)))
        f.setBold(bold)
        return f

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        c = self._colors
        w, h = self.width(), self.height()
        head_f = self._font(15 * self._scale, bold=True)
        head_h = QFontMetricsF(head_f).height() + 6
        n = len(self._sums)
        # Rows level with the heatmap's when it says where they are, else our own pitch.
        row_h = min((h - head_h) / max(n, 1), 34 * self._scale)
        first = head_h + row_h / 2
        if self._geometry is not None and n:
            first = self._geometry[0]
            row_h = self._geometry[1] if n > 1 else row_h
        top = max(0.0, first - row_h / 2 - head_h)
        f = self._font(min(18 * self._scale, row_h * 0.62))
        fm = QFontMetricsF(f)
        col_sum = 4.0
        off = set(self.off_rows())
        mark_x = col_sum + fm.horizontalAdvance("0.000") + 4
        col_h = mark_x + fm.horizontalAdvance(ROUNDED_MARK) + 10
        bar_x = col_h + fm.horizontalAdvance("00.00") + 8
        p.setFont(head_f)
        p.setPen(QColor(c["foreground"]))
        bottom_left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
        if not n or row_h < MIN_ROW_PX * self._scale:
            p.drawText(QRectF(4, top, w - 8, head_h), bottom_left, "Σ row    H (bits)")
            if n:
                p.setFont(self._font(14 * self._scale))
                p.drawText(QRectF(4, top + head_h, w - 8, h - head_h), Qt.TextFlag.TextWordWrap, self.summary())
            return
        p.drawText(QRectF(col_sum, top, col_h - col_sum, head_h), bottom_left, "Σ row")
        # "top": the word over each H bar is the row's winner (the key with the most weight).
        p.drawText(QRectF(col_h, top, w - col_h, head_h), bottom_left,
                   "H (bits) · top" if any(self._winners) else "H (bits)")
        p.setFont(f)
        for i in range(n):
            y = first - row_h / 2 + i * row_h
            if i == self._highlight:
                p.fillRect(QRectF(0, y, w, row_h), QColor(c["panel"]))
            if i in self._covered:
                p.setPen(QColor(c["muted"]))
                for x0, x1 in ((col_sum, col_h), (col_h, bar_x)):
                    p.drawText(QRectF(x0, y, x1 - x0, row_h), Qt.AlignmentFlag.AlignVCenter, "?")
                continue
            s, e = float(self._sums[i]), float(self._entropy[i])
            ok = math.isfinite(s) and abs(s - 1.0) < 1e-6
            p.setPen(QColor(c["foreground"] if ok else c["error"]))
            p.drawText(QRectF(col_sum, y, col_h - col_sum, row_h), Qt.AlignmentFlag.AlignVCenter, format_column(s, 3))
            if i in off:
                p.setPen(QColor(c["accent"]))
                p.drawText(QRectF(mark_x, y, col_h - mark_x, row_h), Qt.AlignmentFlag.AlignVCenter, ROUNDED_MARK)
            p.setPen(QColor(c["foreground"]))
            p.drawText(QRectF(col_h, y, bar_x - col_h, row_h), Qt.AlignmentFlag.AlignVCenter, format_cell(e))
            frac = min(max(e / self._max_bits, 0.0), 1.0) if math.isfinite(e) else 0.0
            bar_w = max(0.0, (w - bar_x - 6) * frac)
            if not any(self._winners):
                p.fillRect(QRectF(bar_x, y + row_h * 0.25, bar_w, row_h * 0.5), QColor(c["accent"]))
                continue
            # "—": no one key has the most weight (several share it exactly).
            winner = (self._winners[i] if i < len(self._winners) else "") or "—"
            # The row's winner over a thin H bar: the bar keeps its length, the word is read.
            p.fillRect(QRectF(bar_x, y + row_h * 0.78, bar_w, row_h * 0.14), QColor(c["accent"]))
            room = w - bar_x - 4
            # A longer word is drawn smaller (down to 55 %) before it is cut: "cha…" for
            # "chased" told a student nothing.
            wide = fm.horizontalAdvance(winner)
            wf = f if wide <= room else self._font(math.floor(f.pixelSize() * max(0.55, room / wide)))
            p.setFont(wf)
            p.drawText(QRectF(bar_x, y, room, row_h * 0.8), Qt.AlignmentFlag.AlignVCenter,
                       QFontMetricsF(wf).elidedText(winner, Qt.TextElideMode.ElideRight, room))
            p.setFont(f)
        self._paint_key(p, first - row_h / 2 + n * row_h + 6, top)

    def _paint_key(self, p: QPainter, below: float, above: float) -> None:
        """The key: what the cells' marks mean above the header, what ≈ means under the rows
        (beside the Σ it explains); all of it in the larger space when one part has no room."""
        if not self._key:
            return
        p.setFont(self._font(13 * self._scale))
        p.setPen(QColor(self._colors["muted"]))
        cells = [k for k in self._key if not k.startswith(ROUNDED_MARK)]
        sums = [k for k in self._key if k.startswith(ROUNDED_MARK)]
        w = self.width() - 8
        flags = int(Qt.TextFlag.TextWordWrap)
        room_below = self.height() - below
        if self._key_height(cells, w) > above or self._key_height(sums, w) > room_below:
            cells, sums = (self._key, []) if above > room_below else ([], self._key)
        if cells:
            p.drawText(QRectF(4, 0, w, above), flags | int(Qt.AlignmentFlag.AlignBottom), "\n".join(cells))
        if sums:
            p.drawText(QRectF(4, below, w, room_below), flags | int(Qt.AlignmentFlag.AlignTop), "\n".join(sums))

    def _key_height(self, lines: list[str], width: float) -> float:
        if not lines:
            return 0.0
        fm = QFontMetricsF(self._font(13 * self._scale))
        flags = int(Qt.TextFlag.TextWordWrap)
        return fm.boundingRect(QRectF(0, 0, width, 1e6), flags, "\n".join(lines)).height()
