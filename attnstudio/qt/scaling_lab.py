"""View ▸ Scaling lab…: the window feature that opens the scaling lab (qt/scaling_panel.py).

It opens from the menu, and by itself on a lesson step that says ``opens = "scaling-lab"``
(docs/lessons.md), once each time the lesson arrives at that step, in an interactive window
only (exports and the self-test step through lessons without opening windows). The lab is
made on first use and kept, with its last run, until the studio window closes; closing
either cancels a run. docs/architecture.md, "The scaling lab".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu

from attnstudio.qt.feature import AddsNothing, Host, menu_action
from attnstudio.qt.scaling_panel import ScalingLab

LAB_KEY = "scaling-lab"  # the value of a lesson step's ``opens`` that opens it


class ScalingLabFeature(AddsNothing, QObject):
    """The View menu's Scaling lab… and the lesson steps that open it."""

    def __init__(self, host: Host, interactive: bool = True) -> None:
        window = host.window_widget()
        super().__init__(window)
        self._host = host
        self._interactive = interactive
        self.lab: ScalingLab | None = None
        self._step_seen: tuple[object, int] = (None, -1)
        self.menu = QMenu("&View", window)
        self.open_action = menu_action(self.menu, window, "Scaling lab…", self.open_lab)
        self.open_action.setToolTip("Time attention against N on this machine: the quadratic cost, measured")
        host.studio_qt.lesson_changed.connect(self._on_lesson_changed)
        host.studio_qt.display_changed.connect(self._follow_theme)

    # ---- Feature --------------------------------------------------------------------------------
    def menus(self) -> Sequence[QMenu]:
        return [self.menu]


    # ---- commands -------------------------------------------------------------------------------
    def open_lab(self) -> ScalingLab:
        """Show the lab (made on first use) in front, with the studio's theme."""
        if self.lab is None:
            self.lab = ScalingLab(self._host.window_widget())
        self._follow_theme()
        self.lab.show()
        self.lab.raise_()
        self.lab.activateWindow()
        return self.lab

    def close(self) -> None:
        """The studio window closes: close the lab, which cancels a run."""
        if self.lab is not None:
            self.lab.close()

    def _on_lesson_changed(self) -> None:
        studio = self._host.studio
        seen = (studio.lesson, studio.step_index)
        if seen == self._step_seen:
            return  # the same step again (an answer given): it opened the lab already
        self._step_seen = seen
        step = studio.step
        if self._interactive and step is not None and step.opens == LAB_KEY:
            self.open_lab()

    def _follow_theme(self) -> None:
        if self.lab is not None:
            self.lab.set_theme(self._host.studio.theme)
