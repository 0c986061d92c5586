"""The window's two looks: a dark one and a light high-contrast one for projectors.

The heatmaps take the same names (``HeatmapView.set_theme``); the colours of the widgets
around them come from the heatmap themes in ``colormaps`` so both always match. Font sizes
are in pixels times a scale factor, so presentation zoom is one call (``stylesheet(…, f)``).
"""

from __future__ import annotations

from attnstudio.qt import colormaps
from attnstudio.studio.snapshot import THEMES

__all__ = ["BASE_FONT_PX", "THEMES", "colors", "stylesheet"]
BASE_FONT_PX = 15

# Accent and warning colours per theme: banner = "this matrix is detached", error = refused input.
_EXTRA = {
    "dark": {"accent": "#4da3ff", "banner": "#7a4a00", "banner_text": "#ffffff", "error": "#ff6b6b",
             "button": "#30343b", "border": "#4a4f58", "muted": "#a8adb5", "chip": "#2a2d33"},
    "light": {"accent": "#0044cc", "banner": "#ffd24d", "banner_text": "#000000", "error": "#b00000",
              "button": "#ffffff", "border": "#000000", "muted": "#333333", "chip": "#f1f1f1"},
}


def colors(theme: str) -> dict[str, str]:
    """Every colour of ``theme`` by role (background, foreground, panel, accent, error …)."""
    th = colormaps.theme(theme)
    return {"background": th.background, "foreground": th.foreground, "panel": th.panel,
            "panel_text": th.panel_text, "highlight": th.highlight, **_EXTRA[theme]}


def stylesheet(theme: str, font_scale: float = 1.0) -> str:
    """The window's Qt stylesheet for ``theme`` at ``font_scale`` × the base size."""
    c = colors(theme)
    px = round(BASE_FONT_PX * font_scale)
    big = round(26 * font_scale)
    # The side panels' tabs are for the desk, not the hall: four must fit the side band at
    # any zoom, so they keep the base size.
    tab = BASE_FONT_PX
    return f"""
QWidget {{ background: {c['background']}; color: {c['foreground']}; font-size: {px}px; }}
QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox, QTableView {{
    background: {c['panel']}; color: {c['foreground']}; border: 1px solid {c['border']};
    border-radius: 3px; padding: 2px 4px; selection-background-color: {c['accent']};
}}
QLineEdit#sentence {{ font-size: {round(22 * font_scale)}px; padding: 4px 8px; }}
QPushButton, QToolButton {{
    background: {c['button']}; color: {c['foreground']}; border: 1px solid {c['border']};
    border-radius: 4px; padding: 4px 10px;
}}
QPushButton:hover, QToolButton:hover {{ border-color: {c['accent']}; }}
QPushButton:checked, QToolButton:checked {{ background: {c['accent']}; color: {c['background']}; }}
QPushButton:disabled {{ color: {c['muted']}; }}
QHeaderView::section {{ background: {c['chip']}; color: {c['foreground']}; border: none; padding: 2px 4px; }}
QTableView QTableCornerButton::section {{ background: {c['chip']}; }}
QLabel#stageTitle {{ font-size: {big}px; font-weight: bold; }}
QLabel#stageFormula {{ font-size: {round(20 * font_scale)}px; color: {c['accent']}; }}
QLabel#banner {{ background: {c['banner']}; color: {c['banner_text']}; font-weight: bold; padding: 4px 8px;
                 border-radius: 3px; }}
QLabel#error {{ color: {c['error']}; font-weight: bold; }}
QLabel#muted, QLabel#caption {{ color: {c['muted']}; }}
QLabel#thumbCaption {{ color: {c['muted']}; font-size: {round(12 * font_scale)}px; }}
QCheckBox::indicator {{ width: {round(16 * font_scale)}px; height: {round(16 * font_scale)}px;
                        border: 2px solid {c['border']}; border-radius: 3px; background: {c['panel']}; }}
QCheckBox::indicator:checked {{ background: {c['accent']}; border-color: {c['accent']}; }}
QLabel#emptyMessage {{ font-size: {round(28 * font_scale)}px; color: {c['foreground']}; }}
QFrame#chip {{ background: {c['chip']}; border: 1px solid {c['border']}; border-radius: 4px; }}
QFrame#thumb {{ border: 2px solid transparent; border-radius: 4px; }}
QFrame#thumb[current="true"] {{ border: 2px solid {c['highlight']}; }}
QStatusBar {{ border-top: 1px solid {c['border']}; }}
QDockWidget::title {{ background: {c['chip']}; padding: 4px; }}
QTabBar {{ font-size: {tab}px; }}
QTabBar::tab {{ background: {c['chip']}; color: {c['foreground']}; padding: 5px 6px; font-size: {tab}px;
               border: 1px solid {c['border']}; }}
QTabBar::tab:selected {{ background: {c['accent']}; color: {c['background']}; }}
QSlider::groove:horizontal {{ height: 6px; background: {c['border']}; border-radius: 3px; }}
QSlider::handle:horizontal {{ width: 18px; margin: -7px 0; background: {c['accent']}; border-radius: 9px; }}
QScrollArea {{ border: none; }}
"""
