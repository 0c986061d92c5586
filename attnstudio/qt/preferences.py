"""What the app remembers between runs (QSettings): the window's place and size, the theme,
the zoom, the weights' colour scale and the backend last used. Recent files are the
document's (``qt/document.py``) and live in the same store.

The app reads them once at start (``starting_model``, ``restore_geometry``) and writes them
when it quits (``remember``). A value that is missing, of the wrong type or out of range is
ignored: the default stands. Windows built by tests and exports never read or write them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QWidget

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.settings import BACKENDS, Settings
from attnstudio.studio.model import StudioModel
from attnstudio.studio.snapshot import MAX_ZOOM, MIN_ZOOM, THEMES, WEIGHT_SCALES

GEOMETRY = "window/geometry"
THEME = "display/theme"
ZOOM = "display/zoom"
WEIGHTS_SCALE = "display/weights_scale"
BACKEND = "compute/backend"


def _choice(store: QSettings, key: str, allowed: tuple[str, ...]) -> str | None:
    value = store.value(key)
    return value if isinstance(value, str) and value in allowed else None


def _zoom(store: QSettings) -> float | None:
    try:
        value = float(store.value(ZOOM))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if MIN_ZOOM <= value <= MAX_ZOOM else None


def starting_model(store: QSettings | None = None) -> StudioModel:
    """A studio model whose display options and backend are the ones last used."""
    store = store or QSettings()
    backend = _choice(store, BACKEND, BACKENDS)
    model = StudioModel(settings=Settings(backend=backend)) if backend else StudioModel()
    display: dict[str, Any] = {}
    theme = _choice(store, THEME, THEMES)
    if theme:
        display["theme"] = theme
    zoom = _zoom(store)
    if zoom is not None:
        display["zoom"] = zoom
    scale = _choice(store, WEIGHTS_SCALE, WEIGHT_SCALES)
    if scale:
        display["weights_scale"] = scale
    if display:
        with contextlib.suppress(AttnStudioError):  # a value the model refuses: the defaults stand
            model.apply(**display)
    return model


def restore_geometry(window: QWidget, store: QSettings | None = None) -> bool:
    """Put the window where it was; False (left as it is) when nothing usable was saved."""
    value = (store or QSettings()).value(GEOMETRY)
    if not isinstance(value, (QByteArray, bytes)):
        return False
    return bool(window.restoreGeometry(QByteArray(value)))


def remember(window: QWidget, studio: StudioModel, store: QSettings | None = None) -> None:
    """Keep the window's geometry, the display options and the backend for the next run."""
    store = store or QSettings()
    snap = studio.snapshot()
    work = snap.before_lesson or snap  # a lesson's own theme or zoom is not the user's choice
    store.setValue(GEOMETRY, window.saveGeometry())
    store.setValue(THEME, work.theme)
    store.setValue(ZOOM, float(work.zoom))
    store.setValue(WEIGHTS_SCALE, work.weights_scale)
    store.setValue(BACKEND, work.settings.backend)
    store.sync()
