"""The lesson editor's panel: the lesson's name, its steps, the selected step's words, buttons.

A widget only: it shows a ``Draft`` (``show_draft``) and says what the lecturer asked for
through signals; the ``LessonAuthor`` feature owns the draft and decides. It fits the side
band (about 356 px at 1280×720): every field takes the full width, buttons sit two or four
to a row, and the step list and narration share the height that is left.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from attnstudio.core.trace import STAGES
from attnstudio.studio.authoring import Draft

STAGE_TITLES = dict(STAGES)


class AuthorPanel(QWidget):
    """See the module docstring. Rows of the step list are the draft's steps, in order."""

    add_requested = Signal()
    update_requested = Signal()
    delete_requested = Signal()
    play_requested = Signal()
    move_requested = Signal(int, int)  # from, to (0-based)
    order_dropped = Signal(list)  # the steps' old indices in their new order (a drag in the list)
    selected = Signal(int)  # -1: none
    text_edited = Signal()  # the selected step's title, narration or formula
    name_edited = Signal()  # the lesson's id, title or summary
    new_requested = Signal()
    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("authorPanel")
        self._loading = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(4)

        lay.addWidget(self._heading("Lesson"))
        self.lesson_id = self._line("id: lowercase, digits, - and _", "lessonId")
        self.lesson_title = self._line("Lesson title", "lessonTitle")
        self.summary = self._line("One-line summary for the lesson list", "lessonSummary")
        for field in (self.lesson_id, self.lesson_title, self.summary):
            field.editingFinished.connect(self.name_edited)
            lay.addWidget(field)

        lay.addWidget(self._heading("Steps"))
        self.steps = QListWidget(self)
        self.steps.setObjectName("authorSteps")
        self.steps.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.steps.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.steps.setMinimumHeight(84)
        self.steps.currentRowChanged.connect(self.selected)
        self.steps.model().rowsMoved.connect(self._on_rows_moved)
        lay.addWidget(self.steps, 2)

        grid = QGridLayout()
        grid.setSpacing(4)
        self.add_btn = self._button("Add this as a step", self.add_requested,
                                    "Record what the window shows now as a new step (Ctrl+Shift+A)")
        self.update_btn = self._button("Update step", self.update_requested,
                                       "Replace the selected step's state by what the window shows now")
        self.up_btn = self._button("▲", None, "Move the selected step up")
        self.down_btn = self._button("▼", None, "Move the selected step down")
        self.play_btn = self._button("Go to step", self.play_requested, "Play the lesson from the selected step")
        self.delete_btn = self._button("Delete", self.delete_requested, "Delete the selected step")
        self.up_btn.clicked.connect(lambda: self._move(-1))
        self.down_btn.clicked.connect(lambda: self._move(+1))
        grid.addWidget(self.add_btn, 0, 0, 1, 2)
        grid.addWidget(self.update_btn, 0, 2, 1, 2)
        grid.addWidget(self.up_btn, 1, 0)
        grid.addWidget(self.down_btn, 1, 1)
        grid.addWidget(self.play_btn, 1, 2)
        grid.addWidget(self.delete_btn, 1, 3)
        for col, stretch in enumerate((1, 1, 2, 2)):
            grid.setColumnStretch(col, stretch)
        lay.addLayout(grid)

        lay.addWidget(self._heading("Selected step"))
        self.step_title = self._line("Step title", "stepTitleEdit")
        self.narration = QPlainTextEdit(self)
        self.narration.setObjectName("narrationEdit")
        self.narration.setPlaceholderText("Narration: <b>bold</b>, <i>italic</i>, <code>, <sub>, <sup>, <br>")
        self.narration.setMinimumHeight(72)
        self.formula = self._line("Formula (optional, plain text)", "formulaEdit")
        self.step_title.textEdited.connect(lambda _t: self.text_edited.emit())
        self.narration.textChanged.connect(self._on_narration_changed)
        self.formula.textEdited.connect(lambda _t: self.text_edited.emit())
        lay.addWidget(self.step_title)
        lay.addWidget(self.narration, 3)
        lay.addWidget(self.formula)

        self.message = QLabel(self)
        self.message.setObjectName("authorMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.message)

        bottom = QGridLayout()
        bottom.setSpacing(4)
        self.new_btn = self._button("New lesson", self.new_requested, "Start an empty lesson")
        self.save_btn = self._button("Save lesson…", self.save_requested, "Write the lesson as a .toml file")
        bottom.addWidget(self.new_btn, 0, 0)
        bottom.addWidget(self.save_btn, 0, 1)
        lay.addLayout(bottom)

    def heightForWidth(self, _width: int) -> int:
        """None (-1): the scroll area would ask the layout, which (for the wrapping message)
        adds up the list's and editor's preferred heights, about 740 px, more than the band
        has at 720: the panel would scroll. Without it, the panel takes the band's height."""
        return -1

    # ---- building -----------------------------------------------------------------------------
    def _heading(self, text: str) -> QLabel:
        label = QLabel(f"<b>{text}</b>", self)
        label.setObjectName("authorHeading")
        return label

    def _line(self, placeholder: str, name: str) -> QLineEdit:
        field = QLineEdit(self)
        field.setObjectName(name)
        field.setPlaceholderText(placeholder)
        field.setToolTip(placeholder)
        return field

    def _button(self, text: str, signal: Signal | None, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.setMinimumWidth(0)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # clicks leave the clicker's keys with the window
        if signal is not None:
            button.clicked.connect(signal)
        return button

    # ---- showing ------------------------------------------------------------------------------
    def show_draft(self, draft: Draft, current: int) -> None:
        """The draft's name and steps; ``current`` selected (its words in the fields)."""
        self._loading = True  # rows removed and added here are not a drag
        try:
            self._fill_steps(draft, current)
        finally:
            self._loading = False
        for field, value in ((self.lesson_id, draft.id), (self.lesson_title, draft.title),
                             (self.summary, draft.summary)):
            if not field.hasFocus() and field.text() != value:
                field.setText(value)
        self.show_step(draft, current)

    def _fill_steps(self, draft: Draft, current: int) -> None:
        with QSignalBlocker(self.steps):
            self.steps.clear()
            for k, step in enumerate(draft.steps):
                st = step.state
                where = STAGE_TITLES[st.stage]
                if st.settings.layers > 1 or st.settings.heads > 1:
                    where += f" · L{st.layer + 1} H{st.head + 1}"
                item = QListWidgetItem(f"{k + 1}. {step.title}  —  {where}")
                item.setData(Qt.ItemDataRole.UserRole, k)
                item.setToolTip(f"{st.sentence}\n{where}")
                self.steps.addItem(item)
            self.steps.setCurrentRow(current)

    def show_step(self, draft: Draft, current: int) -> None:
        """Step ``current``'s words in the fields and the buttons that apply to it (the list as is)."""
        step = draft.steps[current] if 0 <= current < len(draft.steps) else None
        self._loading = True
        try:
            for field, value in ((self.step_title, step.title if step else ""),
                                 (self.formula, (step.formula or "") if step else "")):
                if field.text() != value:
                    field.setText(value)
            if self.narration.toPlainText() != (step.narration if step else ""):
                self.narration.setPlainText(step.narration if step else "")
        finally:
            self._loading = False
        has = step is not None
        for widget in (self.step_title, self.narration, self.formula, self.update_btn, self.delete_btn,
                       self.play_btn):
            widget.setEnabled(has)
        self.up_btn.setEnabled(has and current > 0)
        self.down_btn.setEnabled(has and current < len(draft.steps) - 1)
        self.save_btn.setEnabled(bool(draft.steps))

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.setStyleSheet("color: #e0605a;" if error else "")

    def current(self) -> int:
        return self.steps.currentRow()

    def words(self) -> tuple[str, str, str]:
        return self.step_title.text(), self.narration.toPlainText(), self.formula.text()

    # ---- input --------------------------------------------------------------------------------
    def _move(self, delta: int) -> None:
        row = self.steps.currentRow()
        if row >= 0:
            self.move_requested.emit(row, row + delta)

    def _on_narration_changed(self) -> None:
        if not self._loading:
            self.text_edited.emit()

    def _on_rows_moved(self, *_args: object) -> None:
        if self._loading:
            return
        order = [self.steps.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.steps.count())]
        # Told once the drop is over: the list is rebuilt then, not under the view's own drop.
        QTimer.singleShot(0, lambda: self.order_dropped.emit(order))
