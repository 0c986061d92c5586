"""The studio model: what the window computes, shows and points at, with no Qt.

``StudioModel`` owns the sentence, settings, matrices and overrides, the stage/layer/head on
view, the selected row and highlights, the display options and the open lesson; its state
is one immutable ``Snapshot`` that undo, workspaces and compare can store. ``Inputs`` and
``compute_result`` turn the model's inputs into a ``Result`` (a trace and its display
cache) on any thread. See docs/architecture.md for how the window is built on it.
"""

from attnstudio.studio.model import StudioError, StudioModel
from attnstudio.studio.result import Result, compute_result
from attnstudio.studio.snapshot import Snapshot

__all__ = ["Result", "Snapshot", "StudioError", "StudioModel", "compute_result"]
