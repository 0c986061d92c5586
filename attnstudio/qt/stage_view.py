"""The large view of the current stage: its title and formula, the heatmap(s), and what goes
beside them (row sums/entropy for the weights, all heads for the concat·W_O stage).

It shows what a ``Result`` holds: matrices come from the result's DisplayCache (already
reduced for display where too big), never recomputed here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from attnstudio.core.display import reduce_labels
from attnstudio.core.explain import row_winners, token_labels
from attnstudio.core.matrices import DIRECT_MATRICES, direct_banner
from attnstudio.core.settings import Settings
from attnstudio.core.trace import HEAD_STAGES, STAGE_KEYS, STAGE_MATRIX, STAGES, TOKEN_BY_TOKEN
from attnstudio.qt import colormaps
from attnstudio.qt import theme as _theme
from attnstudio.qt.fixed_lines import FixedLinesLabel
from attnstudio.qt.head_overview import HeadOverview
from attnstudio.qt.heatmap import HOVER_FONT_PX, HOVER_LINES, LABEL_ZOOM_MAX, HeatmapView, balance_cells
from attnstudio.qt.stage_text import formula, hint, masked_cells, weight_limits
from attnstudio.qt.token_strip import TokenStrip
from attnstudio.qt.weights_side import WeightsSide
from attnstudio.studio.compare import masked_where
from attnstudio.studio.result import Result

TITLES = dict(STAGES)
QUESTION_PX = 20  # a lesson's question above the matrix, at zoom 1
SIDE_PX = 210  # the weights' Σ row / H column at zoom 1
EMPTY_MESSAGE = ("The sentence is empty — type at least one word above.\n\n"
                 "Your matrices and edits are kept.")

PREBUILD_AFTER_MS = 2000  # K's and V's heatmaps are built this long after the stage view (cold start ≈ 0.7 s)
PREBUILD_GAP_MS = 100


class StageView(QWidget):
    """Title, formula, banner, warnings, then the stage's heatmap(s) — or the empty message."""

    cell_hovered = Signal(str, int, int)  # cache matrix name, row, col ((-1, -1) on leaving)
    row_clicked = Signal(int)
    cell_clicked = Signal(int, int)  # (query, key) on the masked stage under the custom mask
    key_clicked = Signal(int)  # a key column of the masked stage under the padding mask
    head_clicked = Signal(int)
    token_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self)
        self.title.setObjectName("stageTitle")
        self.where = QLabel(self)
        self.where.setObjectName("muted")
        self.formula = QLabel(self)
        self.formula.setObjectName("stageFormula")
        self.formula.setWordWrap(True)
        self.banner = QLabel(self)
        self.banner.setObjectName("banner")
        # Wrap: one long line forced the window past 1280 px at 1.5× zoom on a projector.
        self.banner.setWordWrap(True)
        self.banner.hide()
        # A lesson step's question (and, once answered, its answer): see set_prompt.
        self.question = QLabel(self)
        self.question.setObjectName("stageQuestion")
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.TextFormat.PlainText)
        self.question.hide()
        self.warning = QLabel(self)
        self.warning.setObjectName("error")
        self.warning.setWordWrap(True)
        self.warning.hide()

        # Two lines of large chips, their text shrunk to fit the whole sentence: three lines
        # of 30 px chips left an 11-token embeddings preview too short for its numbers.
        self.tokens = TokenStrip(self, text_px=28, lines=2, fit=True)
        self.heatmap = HeatmapView(self)
        # K and V (the projections stage) are built after the first paint (_prebuild_kv): two
        # pyqtgraph plots were a third of building the window, which most stages never need.
        self._kv_views: list[HeatmapView] = []
        QTimer.singleShot(PREBUILD_AFTER_MS, self, self._prebuild_kv)  # after the first paint, in idle time
        self.side = WeightsSide(self)
        self.overview = HeadOverview(self)

        self.empty = QLabel(EMPTY_MESSAGE, self)
        self.empty.setObjectName("emptyMessage")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)

        head_row = QHBoxLayout()
        head_row.addWidget(self.title)
        head_row.addStretch(1)
        head_row.addWidget(self.where)
        maps = QHBoxLayout()
        maps.setSpacing(6)
        # Q carries the token labels and V the colour bar (see show_stage); _balance_qkv sets
        # the stretches so that the three matrices' cells come out equally wide.
        maps.addWidget(self.heatmap, 1)
        self._maps = maps
        maps.addWidget(self.side)
        maps.addWidget(self.overview)
        page = QWidget(self)
        page_l = QVBoxLayout(page)
        page_l.setContentsMargins(0, 0, 0, 0)
        page_l.addWidget(self.tokens)
        page_l.addLayout(maps, 1)
        # Q, K and V share this one line for their arithmetic (see show_hover).
        self.shared_hover = FixedLinesLabel(HOVER_LINES, self)
        self.shared_hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.shared_hover.hide()
        page_l.addWidget(self.shared_hover)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(page)
        self.stack.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(head_row)
        layout.addWidget(self.formula)
        layout.addWidget(self.question)
        layout.addWidget(self.banner)
        layout.addWidget(self.warning)
        layout.addWidget(self.stack, 1)

        self._names = {self.heatmap: "q"}
        self._connect_view(self.heatmap)
        self.heatmap.cellClicked.connect(self._on_clicked)
        self.overview.head_clicked.connect(self.head_clicked)
        self.tokens.token_clicked.connect(self.token_clicked)
        self.stage = "tokens"
        self.mask = "none"
        self.factor = 1
        self._minus_inf: np.ndarray | None = None
        # Set by the window: offered each click on a cell first (stage, row, col); True when it
        # answered a lesson's question, and the click is then nothing else.
        self.click_answers: Callable[[str, int, int], bool] | None = None
        self.prompt = ""
        self._theme_name = "dark"
        self._zoom = 1.0
        self._hovering: dict[HeatmapView, bool] = {}
        self._hover_lines = True
        self._compact = False
        self.heatmap.installEventFilter(self)

    def _connect_view(self, view: HeatmapView) -> None:
        view.cellHovered.connect(lambda r, c, v=view: self.cell_hovered.emit(self._names[v], r, c))

    def _kv(self) -> list[HeatmapView]:
        """K's and V's heatmaps, built on first use beside Q, in the theme and zoom of now."""
        while len(self._kv_views) < 2:
            self._build_kv_view()
        return self._kv_views

    def _build_kv_view(self) -> None:
        """Build the next of K's and V's heatmaps (~35 ms each)."""
        i = len(self._kv_views) + 1
        view = HeatmapView(self)
        view.hide()
        self._maps.insertWidget(i, view, 1)
        self._names[view] = "kv"[i - 1]
        self._connect_view(view)
        view.set_theme(self._theme_name)
        view.set_font_scale(self._zoom)
        view.installEventFilter(self)
        self._kv_views.append(view)

    def _prebuild_kv(self) -> None:
        """One of K's and V's heatmaps per idle turn once the window is up: built at the
        first visit of the projections stage instead, both stalled that click ~140 ms."""
        if len(self._kv_views) < 2:
            self._build_kv_view()
        if len(self._kv_views) < 2:
            QTimer.singleShot(PREBUILD_GAP_MS, self, self._prebuild_kv)

    @property
    def k_view(self) -> HeatmapView:
        return self._kv()[0]

    @property
    def v_view(self) -> HeatmapView:
        return self._kv()[1]

    def views(self) -> list[HeatmapView]:
        """Q's (every stage's), K's and V's heatmaps."""
        return [self.heatmap, *self._kv()]

    def _built(self) -> list[HeatmapView]:
        return [self.heatmap, *self._kv_views]

    def view_named(self, name: str) -> HeatmapView:
        """The heatmap whose hover names ``name`` ("k", "v": K's and V's; else the large one)."""
        return next((v for v in self._kv_views if self._names[v] == name), self.heatmap)

    def show_empty(self, message: str = EMPTY_MESSAGE) -> None:
        self.empty.setText(message)
        self.where.setText("no tokens")
        self.banner.hide()
        self.warning.hide()
        self.stack.setCurrentIndex(1)

    def show_stage(self, res: Result, stage: str, layer: int, head: int, direct: frozenset,
                   weights_scale: str = "unit", covered: np.ndarray | None = None) -> None:
        """Draw ``stage`` of (layer, head) from ``res`` (a result with a trace). The weights are
        coloured over 0 … 1 (``weights_scale`` "unit"), 0 … their largest value ("max") or each
        row over 0 … its own largest ("row"): see stage_text.weight_limits. ``covered``: the
        weights a lesson's question keeps hidden (N × N, True), drawn as "?" with their rows'
        Σ and H; the colour scale is taken from the other weights alone."""
        d, tr = res.display, res.trace
        assert d is not None and tr is not None
        s = tr.settings
        self.stage = stage
        self.mask = s.mask
        # Hide what this stage does not show before anything else changes: showing a label or
        # an axis below activates the layout at once, and the tall token chips of the tokens
        # stage, still visible then, grew the window past the screen (1280×720 → 735).
        self.tokens.setVisible(stage == "tokens")
        self.stack.setCurrentIndex(0)
        index = STAGE_KEYS.index(stage) + 1
        self.title.setText(f"{index} · {TITLES[stage]}")
        if tr.model is not None:  # which model, as a lecturer names it: "all-MiniLM-L6-v2 · layer 4 · head 2"
            self.where.setText(f"{tr.model.name} · layer {layer + 1} · head {head + 1}   "
                               f"({s.layers} layers × {s.heads} heads · N = {tr.n:,})")
        else:
            self.where.setText(f"layer {layer + 1}/{s.layers} · head {head + 1}/{s.heads} · N = {tr.n:,}")
        # Where the mask hid keys, as shown: the weights' masked cells (every mask alike).
        self._minus_inf = masked_where(res, layer, head)
        # A naive softmax whose sum overflowed leaves a row of finite zeros: it sums to 0, not 1.
        # A row with every key masked is all 0 too, by rule (core/masks.py): the line says so.
        empty_rows = 0
        if stage == "weights" and self._minus_inf is not None and self._minus_inf.ndim == 2:
            empty_rows = int(np.count_nonzero(self._minus_inf.all(axis=1)))
        zero_rows = int(np.count_nonzero(d.vector(layer, head, "row_sums") == 0)) if stage == "weights" else 0
        self.formula.setText(formula(stage, s, layer, empty_rows=empty_rows,
                                     nonfinite=tr.head(layer, head).nonfinite_weights + max(0, zero_rows - empty_rows)))
        banners = [direct_banner(n) for n in DIRECT_MATRICES if (layer, head, n) in direct]
        self.banner.setText("    ".join(banners))
        self.banner.setVisible(bool(banners) and stage not in ("tokens", "embeddings"))
        self.warning.setText("\n".join(tr.warnings))
        self.warning.setVisible(bool(tr.warnings))

        name, scale = STAGE_MATRIX[stage]
        self._names[self.heatmap] = name
        labels = token_labels(tr.tokens)
        shown = d.get(layer, head, name)
        cov = covered if name == "weights" and covered is not None and covered.shape == shown[0].shape else None
        if cov is not None:
            m = np.array(shown[0], dtype=np.float64)
            m[cov] = np.nan  # not even the colour bar's range may come from a covered weight
            shown = (m, shown[1])
        limits = weight_limits(shown[0], weights_scale) if scale == "unit" else None  # the weights' scale
        self._show(self.heatmap, shown, labels, scale, name, s, limits=limits, covered=cov)
        self.factor = d.get(layer, head, name)[1]
        projections = stage == "projections"
        for view in self._kv() if projections else self._kv_views:
            view.setVisible(projections)
        # Q, K and V side by side share their rows (the tokens) and one colour range, so the
        # token labels are drawn once (left of Q) and the colour bar once (right of V): at
        # 1280 px the room they free is what lets each cell print its number.
        self.heatmap.set_chrome(row_labels=True, colorbar=not projections)
        for view in self._built():
            view.set_hover_line_visible(self._hover_lines and not projections)
        self.shared_hover.setVisible(self._hover_lines and projections)
        if projections:
            qkv = [d.get(layer, head, n) for n in ("q", "k", "v")]
            big = max((float(np.abs(m[np.isfinite(m)]).max(initial=0.0)) for m, _ in qkv), default=0.0)
            shared = (-big, big) if big > 0 else (-1.0, 1.0)
            self._show(self.heatmap, qkv[0], labels, "signed", "q", s, limits=shared)
            self.k_view.set_chrome(row_labels=False, colorbar=False)
            self.v_view.set_chrome(row_labels=False, colorbar=True)
            self._show(self.k_view, qkv[1], labels, "signed", "k", s, limits=shared)
            self._show(self.v_view, qkv[2], labels, "signed", "v", s, limits=shared)
            QTimer.singleShot(0, self._balance_qkv)
        if stage == "tokens":
            self.tokens.set_tokens(tr.tokens)
        self.side.setVisible(stage == "weights" and not self._compact)
        if stage == "weights":
            sums = np.array(d.vector(layer, head, "row_sums"), dtype=np.float64)
            ent = np.array(d.vector(layer, head, "row_entropy"), dtype=np.float64)
            hidden_rows = [int(r) for r in np.flatnonzero(cov.any(axis=1))] if cov is not None else []
            sums[hidden_rows], ent[hidden_rows] = np.nan, np.nan
            masked = masked_cells(name, self._minus_inf, shown[0].shape)
            if masked is not None and cov is not None:
                masked = masked & ~cov
            # Each row's winner, while every cell is shown one by one (core.explain.row_winners).
            winners = [labels[j] if j is not None else "" for j in row_winners(shown[0], masked)] \
                if shown[1] == 1 else []
            self.side.set_rows(labels, sums, ent, tr.n, cells=shown[0] if shown[1] == 1 else None, masked=masked,
                               covered_rows=hidden_rows, winners=winners)
            QTimer.singleShot(0, self._align_side)
        self.overview.setVisible(stage == "heads" and s.heads > 1)
        if stage == "heads" and s.heads > 1:
            self.overview.set_heads([d.get(layer, h, "weights")[0] for h in range(s.heads)], head, weights_scale)

    def _show(self, view: HeatmapView, shown: tuple[np.ndarray, int], labels: list[str], scale: str,
              name: str, s: Settings, limits: tuple[float, float] | None = None,
              covered: np.ndarray | None = None) -> None:
        m, f = shown
        n = len(labels)
        rows = reduce_labels(labels, f)
        if name in TOKEN_BY_TOKEN:
            cols, fc = rows, f
        else:
            width = s.d_k if name in HEAD_STAGES else s.d_model
            fc = math.ceil(width / max(m.shape[1], 1))  # Q, K, V, X: tall, shrunk along rows only
            cols = reduce_labels([str(j + 1) for j in range(width)], fc)
        title = {"input": "X", "q": "Q", "k": "K", "v": "V", "heads": "concat·W_O"}.get(name, "")
        if self.stage == "tokens":
            title = "embeddings preview: each token becomes a vector"
        block = f"{f} × {fc}" if fc > 1 else f"{f} rows"
        note = f"reduced for display: {n:,} → {m.shape[0]:,} rows (block means of {block})" if f > 1 else ""
        view.set_matrix(m, rows, cols, scale=scale, title=title, note=note, limits=limits,
                        masked=masked_cells(name, self._minus_inf, m.shape), covered=covered)
        if not self._hovering.get(view):
            self.show_hover(view, self._idle_text(view))

    def set_prompt(self, text: str, answered: bool = False, above: bool = True) -> None:
        """A lesson's question while it waits (``answered`` False), then its answer and why;
        '' for none. ``above``: in a large line above the matrix (for the hall, zoomed: the
        zoom gives the height back); else in the matrix's own line below it while no cell is
        hovered (it costs no height). Takes effect from the next stage shown."""
        self.prompt = "" if above else text
        text = text if above else ""
        state = "yes" if answered else "no"
        if (text, state, bool(text)) == (self.question.text(), self.question.property("answered"),
                                         not self.question.isHidden()):
            return  # as shown (every edit asks again): restyling it cost a style pass
        self.question.setText(text)
        self.question.setProperty("answered", state)
        self.question.style().unpolish(self.question)
        self.question.style().polish(self.question)
        self.question.setVisible(bool(text))

    def _idle_text(self, view: HeatmapView) -> str:
        """What a matrix's line says while no cell is hovered: the hint, or a lesson's question."""
        return self.prompt if self.prompt and view is self.heatmap else hint(self.stage, self.mask)

    def show_hover(self, view: HeatmapView, text: str) -> None:
        """Put ``text`` under ``view``; on the Q, K, V stage, in the line the three share."""
        view.set_hover_text(text)
        if self.stage == "projections":
            self.shared_hover.set_full_text(text)

    def set_compact(self, on: bool) -> None:
        """Zoomed for a hall: the weights' Σ row / H column gives its width to the matrix
        (each row's sum and entropy stay in the cell's hover and in one token's view);
        takes effect from the next stage shown."""
        self._compact = on

    def set_hover_lines(self, on: bool) -> None:
        """Show the arithmetic lines under the matrices (off on exported slides, where
        "hover a cell" means nothing); takes effect from the next stage shown."""
        self._hover_lines = on

    def set_hovering(self, view: HeatmapView, on: bool) -> None:
        self._hovering[view] = on
        if not on:
            self.show_hover(view, self._idle_text(view))

    def _align_side(self) -> None:
        """Put the side's rows level with the heatmap's rows (when each row has a line)."""
        rows = None
        if self.side.isVisible() and self.factor == 1:
            rows = self.heatmap.row_centers_in(self.side)
        self.side.set_row_geometry(rows if rows is not None and rows[1] > 0 else None)

    def _balance_qkv(self) -> None:
        """Stretch Q, K and V so that their cells are equally wide: each view gets its own
        labels / colour bar plus a third of the width left for cells."""
        if self.stage != "projections":
            return
        balance_cells(self._maps, self.views(), (1, 1, 1))

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.Resize:
            if obj is self.heatmap:
                QTimer.singleShot(0, self._align_side)
            if obj in self._built():
                QTimer.singleShot(0, self._balance_qkv)
        return super().eventFilter(obj, ev)

    def _on_clicked(self, row: int, col: int) -> None:
        if self.click_answers is not None and self.factor == 1 and self.click_answers(self.stage, row, col):
            return  # the click answered a lesson's question
        # Under a drawn mask a click on the masked stage draws it (a cell under the custom mask,
        # its key's column under the padding mask; only while every cell is shown, one by one);
        # elsewhere a click on a row opens its token's view.
        if self.stage == "masked" and self.mask == "custom" and self.factor == 1:
            self.cell_clicked.emit(row, col)
        elif self.stage == "masked" and self.mask == "padding" and self.factor == 1:
            self.key_clicked.emit(col)
        elif self.stage in TOKEN_BY_TOKEN:
            self.row_clicked.emit(row * self.factor)

    # ---- presentation ----------------------------------------------------------------------
    def set_theme(self, theme: str) -> None:
        for v in self._built():
            v.set_theme(theme)
        th = colormaps.theme(theme)
        self.shared_hover.setStyleSheet(  # as each heatmap's own hover line
            f"color: {th.panel_text}; background: {th.panel}; padding: 4px 8px; border-radius: 4px;"
        )
        self.tokens.set_theme(theme)
        self._theme_name = theme
        self._style_question()
        self.side.set_theme(theme)
        self.overview.set_theme(theme)

    def _style_question(self) -> None:
        c = _theme.colors(self._theme_name)
        px = round(QUESTION_PX * math.sqrt(min(self._zoom, LABEL_ZOOM_MAX)))
        self.question.setStyleSheet(
            f"QLabel#stageQuestion {{ font-size: {px}px; font-weight: bold; color: {c['foreground']};"
            f" background: {c['panel']}; border: 2px solid {c['accent']}; border-radius: 5px; padding: 4px 10px; }}"
            f"QLabel#stageQuestion[answered=\"yes\"] {{ font-weight: normal; border-color: {c['border']}; }}")

    def set_font_scale(self, f: float) -> None:
        self._zoom = f
        self._style_question()
        for v in self._built():
            v.set_font_scale(f)
        font = self.shared_hover.font()
        font.setPixelSize(max(1, round(HOVER_FONT_PX * math.sqrt(min(f, LABEL_ZOOM_MAX)))))  # as HeatmapView's
        self.shared_hover.setFont(font)
        self.shared_hover.set_lines(HOVER_LINES if f <= 1.0 else HOVER_LINES - 1)
        self.tokens.set_font_scale(math.sqrt(min(f, LABEL_ZOOM_MAX)))  # 30 px chips: at 2× they took 3 lines
        self.side.set_font_scale(f)
        # Σ row and H beside the weights: room for their numbers, the rest to the matrix
        # (at 2× the side took a third of the width and the cells shrank as the zoom grew).
        self.side.setMaximumWidth(round(SIDE_PX * math.sqrt(f)))
