"""One place that finds the app's data files, the same way installed, editable and frozen."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable


def assets() -> Traversable:
    """The root of the assets folder (``assets/`` in the repository)."""
    return resources.files("attnstudio.assets")


def lessons_dir() -> Traversable:
    """The folder of built-in lesson files (``*.toml``)."""
    return assets() / "lessons"


def icon_path(name: str = "attnstudio") -> Traversable:
    """An icon file under ``assets/icons`` (e.g. ``attnstudio.svg``, ``attnstudio-256.png``)."""
    return assets() / "icons" / name
