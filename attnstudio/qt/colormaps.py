"""Colour maps, special-cell colours and themes of the heatmaps.

Both maps are colour-blind safe: the diverging map runs blue → white → orange (the
blue/orange pair stays distinct under protanopia, deuteranopia and tritanopia, and the
ramp is monotonic in lightness on each side); the sequential map is viridis. Neither map
contains a neutral grey or a magenta, so masked (−∞) and non-finite cells, drawn in those,
can never be mistaken for a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

# ColorBrewer RdBu (blue half) joined to PuOr (orange half) at the same near-white centre.
_DIVERGING_STOPS = (
    "#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
    "#fee0b6", "#fdb863", "#e08214", "#b35806", "#7f3b08",
)

LUT_SIZE = 256


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


DIVERGING = pg.ColorMap(np.linspace(0.0, 1.0, len(_DIVERGING_STOPS)), [_hex(c) for c in _DIVERGING_STOPS],
                        name="attnstudio-blue-white-orange")
SEQUENTIAL = pg.colormap.get("viridis")

# Masked (−∞) cells: neutral grey with darker hatching. Non-finite (NaN, +∞): magenta with
# dark cross-hatching, a warning no value colour can produce.
MASKED_FILL = (150, 150, 150)
MASKED_HATCH = (95, 95, 95)
WARN_FILL = (214, 0, 214)
WARN_HATCH = (40, 0, 40)


def colormap_for(scale: str) -> pg.ColorMap:
    """The map of a scale: 'signed' → diverging, 'unit' → sequential."""
    return DIVERGING if scale == "signed" else SEQUENTIAL


def lut(scale: str) -> np.ndarray:
    """LUT_SIZE × 4 uint8 RGBA table of the scale's colour map."""
    table = colormap_for(scale).getLookupTable(0.0, 1.0, LUT_SIZE, alpha=True)
    return np.ascontiguousarray(table, dtype=np.uint8)


_LUTS: dict[str, np.ndarray] = {}


def to_rgba(values: np.ndarray, scale: str, limits: tuple[float, float]) -> np.ndarray:
    """rows × cols × 4 uint8 image of ``values`` under ``limits``; special cells get their fill.

    Values outside the limits clip to the ends (the limits come from the data, so only
    'unit' can clip, and weights lie in 0..1).
    """
    table = _LUTS.get(scale)
    if table is None:
        table = _LUTS[scale] = lut(scale)
    lo, hi = limits
    finite = np.isfinite(values)
    t = np.where(finite, values, lo).astype(np.float64)
    # Divide by the larger limit first so that limits near ±1.8e308 cannot overflow hi − lo.
    big = max(abs(lo), abs(hi)) or 1.0
    t, lo_s, hi_s = t / big, lo / big, hi / big
    t = (t - lo_s) / (hi_s - lo_s) if hi > lo else np.full_like(t, 0.5)
    idx = np.clip(np.rint(t * (LUT_SIZE - 1)), 0, LUT_SIZE - 1).astype(np.intp)
    rgba = table[idx]
    rgba[np.isneginf(values)] = (*MASKED_FILL, 255)
    rgba[np.isnan(values) | np.isposinf(values)] = (*WARN_FILL, 255)
    return rgba


def dark_text_on(rgba: np.ndarray) -> np.ndarray:
    """True where black text reads better than white on the cell colour (WCAG luminance)."""
    c = rgba[..., :3].astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lum = lin @ np.array([0.2126, 0.7152, 0.0722])
    # Contrast with black (L + 0.05)/0.05 beats contrast with white 1.05/(L + 0.05) above L ≈ 0.179.
    return lum > 0.179


@dataclass(frozen=True)
class Theme:
    """Colours of one theme: background, text, axis lines and the hover panel."""

    name: str
    background: str
    foreground: str
    axis: str
    panel: str
    panel_text: str
    highlight: str
    highlight_edge: str


THEMES = {
    "dark": Theme("dark", "#1b1d21", "#eeeeee", "#b0b0b0", "#2a2d33", "#ffffff", "#ffd400", "#000000"),
    # Light is the projector theme: pure white and black for the most contrast in a bright hall.
    "light": Theme("light", "#ffffff", "#000000", "#000000", "#f1f1f1", "#000000", "#e00000", "#ffffff"),
}


def theme(name: str) -> Theme:
    """The theme called ``name`` ('dark' | 'light'); ValueError names the choices otherwise."""
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {name!r}") from None
