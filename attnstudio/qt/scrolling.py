"""Side panels that scroll instead of imposing their width on the window."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QWidget


def scrolling(widget: QWidget, parent: QWidget) -> QScrollArea:
    """``widget`` in a scroll area that fits it to the area's width when it can.

    A dock's minimum width is its widget's; a row of buttons or a form could otherwise keep
    the window wider than a small screen (800 px), and out of full screen there.
    """
    scroll = QScrollArea(parent)
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    return scroll
