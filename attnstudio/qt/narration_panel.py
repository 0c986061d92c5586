"""The narration of a lesson step, large enough to read from the back of a hall.

Shows the lesson's title, "Step k of n", the step's title, its narration (the small rich-text
subset lessons allow: <b> <i> <br> <code> <sub> <sup>, already checked by the core) and its
formula in a large monospace font, with Back / Next step buttons. A step that asks a question
(docs/lessons.md, "Predict, then reveal") shows it in a framed box with its answer buttons;
its narration, the explanation, follows the answer, which is shown beside the learner's with
a one-line why. It only shows what it is given; the LessonPlayer decides what that is.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from attnstudio.qt import theme as _theme

NO_LESSON = ("No lesson is open.<br><br>Choose one from the <b>Lessons</b> menu, open a lesson "
             "file with <b>Ctrl+O</b>, or drop a <code>.toml</code> file on the window.")
MONOSPACE = "'DejaVu Sans Mono', 'Menlo', 'Consolas', 'Liberation Mono', monospace"
# Sizes in px at font scale 1; the window's zoom multiplies them.
PX = {"lesson": 15, "progress": 16, "title": 26, "narration": 21, "formula": 22, "button": 18,
      "question": 23, "verdict": 24}
# A right answer and a not-quite one: green and amber (never red: a wrong guess is how it
# is learned), each readable on its theme's panel.
VERDICT = {"dark": ("#52e08e", "#ffb84d"), "light": ("#006b2d", "#8a4b00")}
WAITING = "<i>The explanation follows the answer.</i>"


def panel_scale(font_scale: float) -> float:
    """How much the panel's text grows when the window's grows by ``font_scale``.

    Much less than the window's: zoom is for the matrix. The narration starts large (21 px)
    and lives in a band of a quarter of the window; at 2× its text grows by 2^¼ ≈ 1.19, which
    keeps six words a line in 300 px instead of three.
    """
    return font_scale**0.25 if font_scale > 1 else font_scale


def stylesheet(theme: str, font_scale: float) -> str:
    """The panel's own sizes and colours (the window's stylesheet gives the rest)."""
    c = _theme.colors(theme)
    f = panel_scale(font_scale)

    def px(key: str) -> int:
        return round(PX[key] * f)

    return f"""
QLabel#lessonName {{ font-size: {px('lesson')}px; color: {c['muted']}; }}
QLabel#lessonProgress {{ font-size: {px('progress')}px; color: {c['muted']}; font-weight: bold; }}
QLabel#stepTitle {{ font-size: {px('title')}px; font-weight: bold; }}
QLabel#narration {{ font-size: {px('narration')}px; }}
QLabel#stepChange {{ font-size: {px('narration')}px; font-weight: bold; color: {c['accent']}; }}
QLabel#lessonFormula {{ font-size: {px('formula')}px; font-family: {MONOSPACE}; color: {c['accent']};
                        background: {c['panel']}; border: 1px solid {c['border']}; border-radius: 4px;
                        padding: 6px 8px; }}
QPushButton#stepButton {{ font-size: {px('button')}px; padding: 6px 12px; }}
QLabel#offScript {{ font-size: {px('progress')}px; background: {c['banner']}; color: {c['banner_text']};
                    border-radius: 4px; padding: 6px 8px; }}
QFrame#questionBox {{ border: 2px solid {c['accent']}; border-radius: 6px; background: {c['panel']}; }}
QFrame#questionBox QLabel {{ background: transparent; }}
QLabel#question {{ font-size: {px('question')}px; font-weight: bold; }}
QLabel#asksFor, QLabel#why {{ font-size: {px('progress')}px; color: {c['muted']}; }}
QLabel#why {{ color: {c['foreground']}; }}
QLabel#compare {{ font-size: {px('narration')}px; }}
QLabel#verdict {{ font-size: {px('verdict')}px; font-weight: bold; }}
QLabel#verdict[right="yes"] {{ color: {VERDICT[theme][0]}; }}
QLabel#verdict[right="no"] {{ color: {VERDICT[theme][1]}; }}
QPushButton#optionButton {{ font-size: {px('question')}px; padding: 6px 14px; }}
QPushButton#answerButton {{ font-size: {px('button')}px; padding: 6px 12px; }}
"""


class NarrationPanel(QWidget):
    """Lesson title, progress, step title, narration, formula and the step buttons."""

    back = Signal()
    next = Signal()
    option_chosen = Signal(str)  # an option of the step's question
    check_requested = Signal()  # "Check" the cells marked
    reveal_requested = Signal()  # show the answer without one

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lesson_label = self._label("lessonName")
        self.progress = self._label("lessonProgress")
        self.title = self._label("stepTitle")
        self.narration = self._label("narration")
        self.narration.setTextFormat(Qt.TextFormat.RichText)
        self.narration.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Says so when the screen shows another stage than the step's (the presenter jumped).
        self.off_script = self._label("offScript")
        self.off_script.hide()
        # What changed in the step's row since the step it follows (StudioModel.step_change).
        self.change = self._label("stepChange")
        self.change.setTextFormat(Qt.TextFormat.PlainText)
        self.change.hide()
        self.formula = self._label("lessonFormula")
        self.formula.setTextFormat(Qt.TextFormat.PlainText)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # "Next step", not "Next": the stage strip has a "Next ▶" (stage) button of its own.
        self.back_btn = QPushButton("◀ Back", self)
        self.next_btn = QPushButton("Next step ▶", self)
        for btn, tip in ((self.back_btn, "Previous step (PgUp, ←)"), (self.next_btn, "Next step (PgDn, →, Space)")):
            btn.setObjectName("stepButton")
            btn.setToolTip(tip)
            # The clicker keys belong to the window: a focused button would eat Space.
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back_btn.clicked.connect(self.back)
        self.next_btn.clicked.connect(self.next)
        self._build_question()

        body = QWidget(self)
        body_l = QVBoxLayout(body)
        body_l.setContentsMargins(10, 8, 10, 8)
        body_l.setSpacing(8)
        body_l.addWidget(self.lesson_label)
        body_l.addWidget(self.progress)
        body_l.addWidget(self.off_script)
        body_l.addWidget(self.title)
        body_l.addWidget(self.question_box)
        body_l.addWidget(self.narration)
        body_l.addWidget(self.change)
        body_l.addWidget(self.formula)
        body_l.addStretch(1)
        # Long narration at 2× zoom scrolls; the buttons below stay put.
        scroll = QScrollArea(self)
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll = scroll

        buttons = QHBoxLayout()
        buttons.setContentsMargins(10, 4, 10, 8)
        buttons.addWidget(self.back_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.next_btn)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.set_style("dark", 1.0)
        self.show_no_lesson()

    def _build_question(self) -> None:
        box = QFrame(self)
        box.setObjectName("questionBox")
        self.question = self._label("question")
        self.question.setTextFormat(Qt.TextFormat.PlainText)
        self.asks_for = self._label("asksFor")
        self.asks_for.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict = self._label("verdict")
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.compare = self._label("compare")
        self.compare.setTextFormat(Qt.TextFormat.PlainText)
        self.why = self._label("why")
        self.why.setTextFormat(Qt.TextFormat.PlainText)
        self._options = QHBoxLayout()
        self._options.setSpacing(8)
        self.option_buttons: list[QPushButton] = []
        self.check_btn = QPushButton("Check ✓", box)
        self.reveal_btn = QPushButton("Reveal (R)", box)
        for btn, tip, signal in ((self.check_btn, "Check the weights you marked", self.check_requested),
                                 (self.reveal_btn, "Show the answer to everyone (R)", self.reveal_requested)):
            btn.setObjectName("answerButton")
            btn.setToolTip(tip)
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            btn.clicked.connect(signal)
        buttons = QHBoxLayout()
        buttons.addLayout(self._options)
        buttons.addStretch(1)
        buttons.addWidget(self.check_btn)
        buttons.addWidget(self.reveal_btn)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(6)
        for w in (self.question, self.asks_for):
            lay.addWidget(w)
        lay.addLayout(buttons)
        for w in (self.verdict, self.compare, self.why):
            lay.addWidget(w)
        box.hide()
        self.question_box = box

    def show_question(self, question: str, asks_for: str, options: tuple[str, ...], checks: bool,
                      marked: int = 0) -> None:
        """The step asks ``question`` and waits: ``asks_for`` says how to answer, ``options``
        become buttons, ``checks`` adds "Check" (with ``marked`` cells marked so far). The
        narration waits for the answer."""
        self.question.setText(question)
        self.asks_for.setText(asks_for if not checks or not marked else f"{asks_for} · {marked} marked")
        self.asks_for.show()
        self._set_options(options)
        self.check_btn.setVisible(checks)
        self.reveal_btn.show()
        for w in (self.verdict, self.compare, self.why):
            w.hide()
        self.question_box.show()
        self.narration.setText(WAITING)

    def show_answer(self, question: str, right: bool | None, verdict: str, yours: str, answer: str, why: str,
                    narration: str) -> None:
        """The question answered (``right`` None: revealed without an answer): the verdict,
        the learner's answer beside the computed one, the one-line why, then the narration."""
        self.question.setText(question)
        self.asks_for.hide()
        self._set_options(())
        self.check_btn.hide()
        self.reveal_btn.hide()
        self.verdict.setText(verdict)
        self.verdict.setProperty("right", {True: "yes", False: "no"}.get(right, "none"))  # type: ignore[arg-type]
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)
        self.verdict.setVisible(bool(verdict))
        self.compare.setText(f"Your answer: {yours}\nThe answer: {answer}" if yours else f"The answer: {answer}")
        self.why.setText(f"Why: {why}")
        for w in (self.compare, self.why):
            w.show()
        self.question_box.show()
        self.narration.setText(narration)

    def hide_question(self) -> None:
        self.question_box.hide()

    def _set_options(self, options: tuple[str, ...]) -> None:
        if tuple(b.text() for b in self.option_buttons) == options:
            return
        for b in self.option_buttons:
            self._options.removeWidget(b)
            b.deleteLater()
        self.option_buttons = []
        for text in options:
            b = QPushButton(text, self.question_box)
            b.setObjectName("optionButton")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, t=text: self.option_chosen.emit(t))
            self._options.addWidget(b)
            self.option_buttons.append(b)

    def set_change(self, text: str | None) -> None:
        """The step's "what changed" sentence (None or '' hides it)."""
        self.change.setText(text or "")
        self.change.setVisible(bool(text))

    def set_off_script(self, text: str) -> None:
        """A visible note that the screen has left the step ('' hides it)."""
        self.off_script.setText(text)
        self.off_script.setVisible(bool(text))

    def _label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        return label

    def set_style(self, theme: str, font_scale: float) -> None:
        self.setStyleSheet(stylesheet(theme, font_scale))

    def show_no_lesson(self) -> None:
        self.lesson_label.setText("")
        self.lesson_label.hide()
        self.progress.setText("")
        self.progress.hide()
        self.title.setText("Lessons")
        self.narration.setText(NO_LESSON)
        self.question_box.hide()
        self.change.hide()
        self.formula.hide()
        self.back_btn.setEnabled(False)
        self.next_btn.setEnabled(False)

    def show_step(self, lesson_title: str, index: int, count: int, title: str, narration: str,
                  formula: str | None) -> None:
        """Show step ``index`` (0-based) of ``count``."""
        self.lesson_label.setText(lesson_title)
        self.lesson_label.show()
        self.progress.setText(f"Step {index + 1} of {count}")
        self.progress.show()
        self.title.setText(title)
        self.narration.setText(narration)
        self.formula.setText(formula or "")
        self.formula.setVisible(bool(formula))
        self.back_btn.setEnabled(index > 0)
        self.next_btn.setEnabled(index < count - 1)
        self.scroll.verticalScrollBar().setValue(0)
