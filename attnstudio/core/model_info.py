"""What a trace of a real (pretrained) model carries about the model: its name, sizes and
the captions of the matrices whose meaning differs from the toy pipeline's.

A toy trace has ``Trace.model`` None; a real model's trace has a ModelInfo (see "Real
models" in docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    """A loaded model, as the views and exports name it.

    ``captions`` maps a matrix name (core.trace.MATRIX_NAMES, plus "residual") to what that
    matrix holds in this model, where it is not what the toy pipeline computes (e.g. "heads"
    is concat·W_O + b_O). ``name`` is the folder's name, or the title of its model card where
    the folder's name says nothing (core.model_folder.model_name).
    """

    name: str
    folder: str
    model_type: str
    architecture: str
    layers: int
    heads: int
    d_model: int
    d_ff: int
    vocab_size: int
    max_positions: int
    hidden_act: str
    layer_norm_eps: float
    captions: tuple[tuple[str, str], ...] = ()

    def caption(self, name: str, default: str = "") -> str:
        """What matrix ``name`` holds in this model, or ``default`` when it is as in the toy pipeline."""
        return dict(self.captions).get(name, default)

    def as_dict(self) -> dict[str, object]:
        """For JSON: every field, the captions as an object."""
        return {
            "name": self.name, "folder": self.folder, "model_type": self.model_type,
            "architecture": self.architecture, "layers": self.layers, "heads": self.heads,
            "d_model": self.d_model, "d_ff": self.d_ff, "vocab_size": self.vocab_size,
            "max_positions": self.max_positions, "hidden_act": self.hidden_act,
            "layer_norm_eps": self.layer_norm_eps, "captions": dict(self.captions),
        }
