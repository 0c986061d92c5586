"""The Qt-free core of attnstudio: tokens → embeddings → attention → trace.

    >>> from attnstudio.core import Settings, compute
    >>> trace = compute("The cat sat", Settings(d_model=4, heads=2))
    >>> trace.head(0, 1).weights.shape
    (3, 3)
"""

from attnstudio.core.backends import Backend, resolve_backend
from attnstudio.core.errors import AttnStudioError, MatrixError, SettingsError, TokenizeError
from attnstudio.core.pipeline import attend, compute
from attnstudio.core.settings import Settings
from attnstudio.core.tokenize import tokenize
from attnstudio.core.trace import STAGES, HeadTrace, LayerTrace, Trace
from attnstudio.core.weights import HeadWeights, LayerWeights, Weights

__all__ = [
    "STAGES",
    "AttnStudioError",
    "Backend",
    "HeadTrace",
    "HeadWeights",
    "LayerTrace",
    "LayerWeights",
    "MatrixError",
    "Settings",
    "SettingsError",
    "TokenizeError",
    "Trace",
    "Weights",
    "attend",
    "compute",
    "resolve_backend",
    "tokenize",
]
