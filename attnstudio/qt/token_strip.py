"""The tokens of the sentence as chips with their positions, painted in one pass.

Painting (instead of one QLabel per token) costs only what is visible: a 10,000-token
sentence draws the chips that fit and "+9,950 more", so it can never freeze the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from attnstudio.qt import colormaps
from attnstudio.qt import theme as _theme

MAX_CHIPS = 400  # never lay out more than this many, whatever fits
FIT_MIN_PX = 15.0  # a fitting strip's text shrinks no further: below it, "+N more" as usual
ONE_LINE_PX = 20.0  # a fitting strip takes one line when its text can stay this large


class TokenStrip(QWidget):
    """Chips "position / token" in reading order; wraps onto more lines when ``lines`` > 1."""

    token_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, text_px: float = 18, lines: int = 1,
                 fit: bool = False) -> None:
        """``fit``: shrink the text (down to FIT_MIN_PX) until every chip fits in ``lines``
        lines, instead of summing the rest up as "+N more" (the tokens stage: a lesson's
        sentence must show whole)."""
        super().__init__(parent)
        self._tokens: tuple[str, ...] = ()
        self._message = ""
        self._text_px = text_px
        self._lines = lines
        self._fit = fit
        self._fit_factor = 1.0
        self._scale = 1.0
        self._highlight = -1
        self._marked: frozenset[int] = frozenset()
        self._colors = _theme.colors("dark")
        self._rects: list[QRectF] = []
        self._hint_width = 0
        self._apply_policy()
        self.setMouseTracking(False)

    # ---- data ------------------------------------------------------------------------
    def set_tokens(self, tokens: Sequence[str]) -> None:
        tokens = tuple(tokens)
        if tokens != self._tokens or self._message:
            self._tokens = tokens
            self._message = ""
            self._fit_factor = 1.0
            self._refit(self.width())
            self.updateGeometry()
            self.update()

    def set_message(self, text: str) -> None:
        """Show ``text`` instead of chips (e.g. for an empty sentence)."""
        self._tokens = ()
        self._message = text
        self.update()

    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    def set_highlight(self, index: int) -> None:
        if index != self._highlight:  # asked again on every edit: the same chips need no repaint
            self._highlight = index
            self.update()

    def set_marked(self, indices: Sequence[int]) -> None:
        """Draw these tokens as padding: the grey and hatching of masked cells, "pad" by the
        position (the padding mask hides their key columns)."""
        marked = frozenset(indices)
        if marked != self._marked:
            self._marked = marked
            self._refit(self.width())  # "3 pad" is wider than "3"
            self.updateGeometry()
            self.update()

    def marked(self) -> frozenset[int]:
        return self._marked

    def set_theme(self, name: str) -> None:
        self._colors = _theme.colors(name)
        self.update()

    def set_font_scale(self, factor: float) -> None:
        self._scale = factor
        self._fit_factor = 1.0
        self._refit(self.width())
        self._apply_policy()
        self.updateGeometry()
        self.update()

    def _label(self, i: int) -> str:
        """The small line of chip ``i``: its position, and "pad" when it is padding."""
        return f"{i} pad" if i in self._marked else str(i)

    def visible_count(self) -> int:
        """How many chips were drawn at the last paint."""
        return len(self._rects)

    # ---- geometry --------------------------------------------------------------------
    def _fonts(self, factor: float | None = None) -> tuple[QFont, QFont]:
        f = self._scale * (self._fit_factor if factor is None else factor)
        main = QFont(self.font())
        main.setPixelSize(max(8, round(self._text_px * f)))
        small = QFont(self.font())
        small.setPixelSize(max(7, round(self._text_px * 0.62 * f)))
        return main, small

    def _refit(self, width: int) -> None:
        """The text factor at which every chip fits (see ``fit``): one line if the text can
        stay at ONE_LINE_PX or more, else the fewest lines down to FIT_MIN_PX."""
        if not self._fit or width <= 0:
            return
        full = max(1.0, self._text_px * self._scale)
        factor = 1.0
        for lines, lowest in ((1, ONE_LINE_PX / full), (self._lines, FIT_MIN_PX / full)):
            factor = 1.0
            while factor > lowest and self._lines_needed(width, factor, exact=True) > lines:
                factor *= 0.94
            if self._lines_needed(width, factor, exact=True) <= lines:
                break
        factor = max(factor, min(1.0, FIT_MIN_PX / full))
        if abs(factor - self._fit_factor) > 1e-3:
            self._fit_factor = factor
            self.updateGeometry()
            self.update()

    def _chip_height(self) -> float:
        main, small = self._fonts()
        return QFontMetricsF(main).height() + QFontMetricsF(small).height() + 8

    def _lines_needed(self, width: int, factor: float | None = None, exact: bool = False) -> int:
        """How many lines the chips take at ``width`` (at most ``lines`` unless ``exact``)."""
        main, small = self._fonts(factor)
        fm, fs = QFontMetricsF(main), QFontMetricsF(small)
        x, line = 6.0, 1
        for i, tok in enumerate(self._tokens[:MAX_CHIPS]):
            w = max(fm.horizontalAdvance(tok), fs.horizontalAdvance(self._label(i))) + 16 + 6
            if x + w > width and x > 6.0:
                line += 1
                x = 6.0
                if line > self._lines and not exact:
                    return self._lines
                if line > self._lines + 1:
                    return line
            x += w
        return line

    def sizeHint(self) -> QSize:
        lines = self._lines_needed(self.width() or 400) if self._lines > 1 else 1
        return QSize(400, round(self._chip_height() * lines + 6 * (lines + 1)))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._refit(ev.size().width())
        # Zoomed, the lines asked for (sizeHint) follow the width; unzoomed, height-for-width
        # does that already, and a second trigger here made the layout ping-pong.
        if self._lines > 1 and not self.hasHeightForWidth() and ev.size().width() != self._hint_width:
            self._hint_width = ev.size().width()
            self.updateGeometry()

    def minimumSizeHint(self) -> QSize:
        return QSize(100, round(self._chip_height() + 12))

    def _apply_policy(self) -> None:
        """Unzoomed, a strip of several lines takes every line its chips need (height for
        width). Zoomed in (a projector), it asks for them but yields down to one line, the
        chips that do not fit summed up as "+N more": at 2× on 1280×720 the lines it demanded
        pushed the window past the screen."""
        wraps = self._lines > 1
        fixed = not wraps or self._scale <= 1.0
        policy = QSizePolicy(QSizePolicy.Policy.Expanding,
                             QSizePolicy.Policy.Fixed if fixed else QSizePolicy.Policy.Maximum)
        policy.setHeightForWidth(wraps and fixed)
        self.setSizePolicy(policy)

    def hasHeightForWidth(self) -> bool:
        return self.sizePolicy().hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:
        lines = self._lines_needed(width, exact=True) if self._fit else self._lines_needed(width)
        lines = min(lines, self._lines)
        return round(self._chip_height() * lines + 6 * (lines + 1))

    # ---- painting --------------------------------------------------------------------
    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = self._colors
        main, small = self._fonts()
        fm, fs = QFontMetricsF(main), QFontMetricsF(small)
        self._rects = []
        if not self._tokens:
            p.setFont(main)
            p.setPen(QColor(c["muted"]))
            p.drawText(self.rect().adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, self._message)
            return
        gap, pad = 6.0, 8.0
        chip_h = self._chip_height()
        x, y = gap, gap
        more_w = fm.horizontalAdvance(f"+{len(self._tokens):,} more") + 2 * pad + gap
        if len(self._tokens) <= MAX_CHIPS and self._lines_needed(self.width(), exact=True) <= self._lines:
            more_w = 0.0  # everything fits: no room to keep for "+N more"
        width = self.width() - gap
        for i, tok in enumerate(self._tokens[:MAX_CHIPS]):
            w = max(fm.horizontalAdvance(tok), fs.horizontalAdvance(self._label(i))) + 2 * pad
            if x + w > width - (more_w if i < len(self._tokens) - 1 else 0):
                if y + 2 * chip_h + gap <= self.height():
                    x, y = gap, y + chip_h + gap
                else:
                    break
            r = QRectF(x, y, w, chip_h)
            self._rects.append(r)
            hl = i == self._highlight
            is_pad = i in self._marked
            p.setPen(QPen(QColor(c["highlight"] if hl else c["border"]), 2 if hl else 1))
            p.setBrush(QColor(*colormaps.MASKED_FILL) if is_pad else QColor(c["chip"]))
            p.drawRoundedRect(r, 4, 4)
            if is_pad:  # the masked cells' hatching: this token's key column is −∞
                p.setBrush(QBrush(QColor(*colormaps.MASKED_HATCH), Qt.BrushStyle.BDiagPattern))
                p.drawRoundedRect(r, 4, 4)
            p.setPen(QColor("black") if is_pad else QColor(c["muted"]))
            p.setFont(small)
            p.drawText(QRectF(x, y + 2, w, fs.height()), Qt.AlignmentFlag.AlignHCenter, self._label(i))
            p.setPen(QColor("black") if is_pad else QColor(c["foreground"]))
            p.setFont(main)
            p.drawText(QRectF(x, y + 2 + fs.height(), w, fm.height() + 4), Qt.AlignmentFlag.AlignHCenter, tok)
            x += w + gap
        rest = len(self._tokens) - len(self._rects)
        if rest > 0:
            p.setPen(QColor(c["muted"]))
            p.setFont(main)
            p.drawText(QRectF(x, y, more_w + 200, chip_h), Qt.AlignmentFlag.AlignVCenter,
                       f"+{rest:,} more")

    def mousePressEvent(self, ev) -> None:
        pos = ev.position()
        for i, r in enumerate(self._rects):
            if r.contains(pos):
                self.token_clicked.emit(i)
                return
        super().mousePressEvent(ev)
