"""The scaling lab: the quadratic-cost lesson measured live on this machine.

Run times the whole pipeline (``core.bench``) at N = 16, 32, … on a worker thread
(``BenchWorker``); each row, as it comes, is added to two log–log plots (time and memory
against N, one curve per backend) and to a table of what the rows say: the fitted exponent,
the time the fit gives at 128k and 200k tokens, the N² scores per head per layer and the
memory a trace needs there (``core.scaling``). Cancel stops before the next timing; closing
the window cancels. docs/architecture.md, "The scaling lab".
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from attnstudio.core import memory
from attnstudio.core.memory import format_bytes, trace_bytes
from attnstudio.core.scaling import (
    DEFAULT_LARGEST,
    FIT_FROM,
    LAB_D_K,
    SMALLEST,
    TARGETS,
    Progress,
    Series,
    by_backend,
    doubling_sizes,
    lab_settings,
    largest_choices,
    summary_table,
)
from attnstudio.qt import theme as _theme
from attnstudio.qt.bench_worker import BenchWorker, Rows
from attnstudio.qt.scaling_plots import LogLogPlot

REPEAT = 5  # timings per (N, backend); the fastest is plotted (core.scaling.Series says why)
FONT_SCALE = 1.25  # the lab's text, a size up from the window's: it is read from the hall
LAB_SIZE = (1280, 720)


class ScalingLab(QWidget):
    """A window of its own (its plots need the width a side panel lacks), owned by the studio
    window. ``rows`` holds the rows of the last run as they came."""

    row_added = Signal(dict)
    run_finished = Signal(str)  # "" complete, "cancelled", or what went wrong

    def __init__(self, parent: QWidget | None = None, rows: Rows | None = None, repeat: int = REPEAT) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Scaling lab: attention's cost against N")
        self.setObjectName("scalingLab")
        self.worker = BenchWorker(self) if rows is None else BenchWorker(self, rows)
        self.worker.planned.connect(self._on_planned)
        self.worker.row.connect(self._on_row)
        self.worker.finished.connect(self._on_finished)
        self.repeat = repeat
        self.rows: list[dict[str, Any]] = []
        self.progress = Progress([], [])
        self.available = memory.available_bytes()

        self.run_button = QPushButton("Run", self)
        self.run_button.setToolTip("Time the whole pipeline at every N below, on each backend that works")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop after the timing under way")
        self.cancel_button.clicked.connect(self.cancel)
        self.largest = QComboBox(self)
        self.largest.setToolTip("The largest N to time; larger ones would not fit in this machine's memory")
        choices = largest_choices(self.available)
        for n in choices:
            self.largest.addItem(f"{n:,}", n)
        self.largest.setCurrentIndex(self.largest.findData(min(DEFAULT_LARGEST, choices[-1])))
        self.largest.currentIndexChanged.connect(self._sync)
        self.sizes_label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(16)
        self.bar.setFixedWidth(220)
        self.status = QLabel(self)
        self.status.setObjectName("labStatus")

        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        top.addSpacing(12)
        top.addWidget(QLabel(f"N = {SMALLEST} … ", self))
        top.addWidget(self.largest)
        top.addWidget(self.sizes_label)
        top.addSpacing(12)
        top.addWidget(self.bar)
        top.addWidget(self.status, 1)

        self.time_plot = LogLogPlot("Time of one pass, every stage", "time (log scale)", "ms", self)
        self.memory_plot = LogLogPlot("Memory of one trace", "bytes (log scale)", "bytes", self)
        plots = QHBoxLayout()
        plots.addWidget(self.time_plot)
        plots.addWidget(self.memory_plot)

        self.table = QTableWidget(self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        self.note = QLabel(self)
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.note.setText(
            f"One pass: every stage of one head, d_k = {LAB_D_K}, float32; the fastest of {repeat} timings "
            "(other programs only slow a timing down). "
            f"The exponent is the slope of log time against log N over N ≥ {FIT_FROM}, where the N² work "
            "outweighs the fixed cost of a call; the dashed lines extend that fit (time) and the exact "
            "formula (memory) to the lengths on the right.")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(top)
        layout.addLayout(plots, 3)
        layout.addWidget(self.table, 0)
        layout.addWidget(self.note)
        # Esc closes the lab (and stops a run): back to the matrix without reaching for the mouse.
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self.set_theme("light")
        self._show_table()
        self._sync()
        self.resize(*LAB_SIZE)

    # ---- commands ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker.running

    def sizes(self) -> list[int]:
        """The N the next run times: 16, 32, … up to the chosen largest."""
        return doubling_sizes(int(self.largest.currentData()))

    def set_largest(self, n: int) -> None:
        """Choose the largest N (one of the combo box's values)."""
        index = self.largest.findData(n)
        if index < 0:
            raise ValueError(f"{n} is not one of the sizes offered")
        self.largest.setCurrentIndex(index)

    def run(self) -> bool:
        """Start a run (False while one is going: the Run button is off then too)."""
        if self.worker.running:
            return False
        self.available = memory.available_bytes()
        sizes = self.sizes()
        self.rows = []
        self.progress = Progress(sizes, [])
        for plot in (self.time_plot, self.memory_plot):
            plot.clear_data()
        self._show()
        if not self.worker.start(sizes, LAB_D_K, self.repeat):
            return False
        self._set_status("starting…")
        self._sync()
        return True

    def cancel(self) -> None:
        if self.worker.running and not self.worker.cancelled:
            self.worker.cancel()
            self._set_status(f"cancelling: the timing under way ends first ({self.progress.done} done)")
            self._sync()

    def closeEvent(self, ev) -> None:
        self.cancel()  # a closed lab must not keep the processor busy
        super().closeEvent(ev)

    def set_theme(self, theme: str) -> None:
        c = _theme.colors(theme)
        extra = f"QLabel#labStatus {{ font-weight: bold; }} QTableWidget {{ gridline-color: {c['border']}; }}"
        self.setStyleSheet(_theme.stylesheet(theme, FONT_SCALE) + extra)
        for plot in (self.time_plot, self.memory_plot):
            plot.set_theme(c["background"], c["foreground"])

    # ---- what comes back ---------------------------------------------------------------------
    def _on_planned(self, backends: list) -> None:
        self.progress.backends = list(backends)
        self._set_status(self.progress.text)

    def _on_row(self, row: dict) -> None:
        self.rows.append(row)
        self.progress.add(row)
        self._set_status(self.progress.text)
        self._show()
        self.row_added.emit(row)

    def _on_finished(self, message: str) -> None:
        done, total = self.progress.done, self.progress.total
        if message == "cancelled":
            self._set_status(f"cancelled after {done} of {total} timings")
        elif message:
            self._set_status(message, error=True)
        else:
            self._set_status(f"done: {done} timings")
        self._sync()
        self.run_finished.emit(message)

    # ---- drawing -----------------------------------------------------------------------------
    def series(self) -> list[Series]:
        return list(by_backend(self.rows).values())

    def _show(self) -> None:
        series = self.series()
        self.bar.setRange(0, max(1, self.progress.total))
        self.bar.setValue(self.progress.done)
        for s in series:
            self.time_plot.set_series(s.label, s.sizes, s.fastest_ms)
            self.memory_plot.set_series(s.label, s.sizes, s.trace_bytes)
            fit = s.fit
            if fit is not None:
                xs = [fit.sizes[0], *TARGETS]
                self.time_plot.set_extension(s.label, xs, [fit.ms_at(n) for n in xs])
        if series and series[0].sizes:
            first = series[0]
            n_max, t_max, b_max = first.sizes[-1], first.fastest_ms[-1], first.trace_bytes[-1]
            ends = [SMALLEST, TARGETS[-1]]
            self.time_plot.set_reference(ends, [t_max * (n / n_max) ** 2 for n in ends])
            self.memory_plot.set_reference(ends, [b_max * (n / n_max) ** 2 for n in ends])
            xs = [n_max, *TARGETS]
            self.memory_plot.set_extension(first.label, xs, [trace_bytes(n, lab_settings()) for n in xs])
        avail = self.available
        self.memory_plot.set_limit(avail, f"{format_bytes(avail)} available here" if avail else "")
        self._show_table()

    def _show_table(self) -> None:
        head, body = summary_table(self.series(), self.available)
        self.table.setColumnCount(len(head))
        self.table.setRowCount(len(body))
        self.table.setHorizontalHeaderLabels(head)
        # The row names in full; the numbers share the rest of the width.
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for r, cells in enumerate(body):
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                item.setText(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter if c else Qt.AlignmentFlag.AlignLeft
                                      | Qt.AlignmentFlag.AlignVCenter)
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().height() + sum(self.table.rowHeight(r) for r in range(len(body)))
        self.table.setFixedHeight(height + 2 * self.table.frameWidth())

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #D55E00;" if error else "")

    def _sync(self) -> None:
        running = self.worker.running
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running and not self.worker.cancelled)
        self.largest.setEnabled(not running)
        sizes = self.sizes()
        self.sizes_label.setText(f"doubling: {len(sizes)} sizes")
        self.bar.setVisible(running or self.progress.done > 0)
