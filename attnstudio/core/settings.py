"""The settings of one attention computation, checked once, in one place."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from attnstudio.core.errors import SettingsError
from attnstudio.core.normalizers import NORMALIZERS

MASKS = ("none", "causal", "padding", "custom")  # core/masks.py says what each hides
BACKENDS = ("numpy", "cupy", "auto")
DTYPES = ("float64", "float32")
MAX_D_MODEL = 1024
MAX_HEADS = 64
MAX_LAYERS = 8


@dataclass(frozen=True)
class Settings:
    """What to compute: sizes, the stages' switches, and where.

    d_k = d_model / heads. ``scale`` divides scores by √d_k; ``temperature`` T divides the
    masked scores before normalizing: A = normalize(S' / T). ``residual`` adds each layer's
    input to its output (X₂ = X + MHA(X)) before the next layer.
    """

    d_model: int = 4
    heads: int = 1
    layers: int = 1
    temperature: float = 1.0
    scale: bool = True
    mask: str = "none"
    normalizer: str = "softmax"
    positional: bool = False
    residual: bool = True
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float64"

    @property
    def d_k(self) -> int:
        return self.d_model // self.heads

    def validated(self) -> Settings:
        """Return self, or raise SettingsError naming the setting and what it must be."""
        _int_in("d_model", self.d_model, 1, MAX_D_MODEL)
        _int_in("heads", self.heads, 1, MAX_HEADS)
        _int_in("layers", self.layers, 1, MAX_LAYERS)
        if self.d_model % self.heads:
            raise SettingsError(
                f"d_model = {self.d_model} is not divisible by heads = {self.heads}: "
                f"each head gets d_k = d_model / heads columns"
            )
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
            raise SettingsError(f"temperature must be a finite number > 0, not {t!r}")
        for name, value, allowed in (
            ("mask", self.mask, MASKS),
            ("normalizer", self.normalizer, tuple(NORMALIZERS)),
            ("backend", self.backend, BACKENDS),
            ("dtype", self.dtype, DTYPES),
        ):
            if value not in allowed:
                raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        for name in ("scale", "positional", "residual"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise SettingsError(f"seed must be a whole number, not {self.seed!r}")
        return self

    def with_(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (not validated: call ``validated``)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int_in(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
