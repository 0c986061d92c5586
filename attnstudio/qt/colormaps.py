"""Colour maps, special-cell colours and themes of the heatmaps.

Every map is colour-blind safe: the diverging map (signed stages, both themes) runs blue →
white → orange (the blue/orange pair stays distinct under protanopia, deuteranopia and
tritanopia, and the ramp is monotonic in lightness on each side); the sequential map of the
weights is monotonic in lightness and runs from near the theme's background (nothing) to a
strong colour (everything): viridis on the dark theme, yellow → green on the light
(projector) theme, whose white ground turns viridis's dark end into the loudest colour on
screen. No map contains a neutral grey or a magenta, so masked (−∞) and non-finite cells,
drawn in those, can never be mistaken for a value. The numbers printed on the cells are
black or white, whichever contrasts more (``dark_text_on``): at least 4.5:1 on any colour.
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

# ColorBrewer YlGn: pale yellow (near the white of the projector theme) → dark green. Green
# is neither half of the diverging map (blue is negative there, orange positive) nor the
# light theme's red outlines, and it is far from the masked grey and the warning magenta.
_LIGHT_SEQUENTIAL_STOPS = (
    "#ffffe5", "#f7fcb9", "#d9f0a3", "#addd8e", "#78c679", "#41ab5d", "#238443", "#006837", "#004529",
)

LUT_SIZE = 256


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


DIVERGING = pg.ColorMap(np.linspace(0.0, 1.0, len(_DIVERGING_STOPS)), [_hex(c) for c in _DIVERGING_STOPS],
                        name="attnstudio-blue-white-orange")
SEQUENTIAL = pg.colormap.get("viridis")
SEQUENTIAL_LIGHT = pg.ColorMap(np.linspace(0.0, 1.0, len(_LIGHT_SEQUENTIAL_STOPS)),
                               [_hex(c) for c in _LIGHT_SEQUENTIAL_STOPS], name="attnstudio-yellow-green")

# Masked (−∞) cells: neutral grey with darker hatching. Non-finite (NaN, +∞): magenta with
# dark cross-hatching, a warning no value colour can produce.
MASKED_FILL = (150, 150, 150)
MASKED_HATCH = (95, 95, 95)
WARN_FILL = (214, 0, 214)
# A covered cell (a lesson's question waits for its answer): one plain slate for every cell,
# so that neither a colour nor a hatching gives the answer away.
COVERED_FILL = (72, 82, 100)
WARN_HATCH = (40, 0, 40)


def colormap_for(scale: str, theme: str = "dark") -> pg.ColorMap:
    """The map of a scale on a theme: 'signed' → diverging (both themes), 'unit' (the weights)
    → viridis on 'dark', yellow → green on 'light'."""
    if scale == "signed":
        return DIVERGING
    return SEQUENTIAL_LIGHT if theme == "light" else SEQUENTIAL


def lut(scale: str, theme: str = "dark") -> np.ndarray:
    """LUT_SIZE × 4 uint8 RGBA table of the scale's colour map on ``theme``."""
    table = colormap_for(scale, theme).getLookupTable(0.0, 1.0, LUT_SIZE, alpha=True)
    return np.ascontiguousarray(table, dtype=np.uint8)


_LUTS: dict[tuple[str, str], np.ndarray] = {}


class ScaleLimits(tuple[float, float]):
    """Colour limits ``(lo, hi)`` that also say how the colour bar should describe them.

    A plain ``(lo, hi)`` works wherever this does; the extras are:

    - ``rows``: None, or one (lo, hi) per row (rows × 2): each row is coloured over its own
      range, and ``(lo, hi)`` is then what the bar runs over (0 … 1: a fraction of the row's range);
    - ``ends``: what the bar writes at its two ends instead of the numbers (e.g. "0", "max");
    - ``captions``: the bar's label, longest first; the longest that fits is shown.
    """

    rows: np.ndarray | None
    ends: tuple[str, str] | None
    captions: tuple[str, ...]

    def __new__(cls, lo: float, hi: float, *, rows: np.ndarray | None = None,
                ends: tuple[str, str] | None = None, captions: tuple[str, ...] = ()) -> ScaleLimits:
        self = super().__new__(cls, (float(lo), float(hi)))
        if rows is not None:
            rows = np.array(rows, dtype=np.float64).reshape(-1, 2)
            rows.setflags(write=False)
        self.rows, self.ends, self.captions = rows, ends, tuple(captions)
        return self


def same_limits(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two colour limits colour and label every value alike: the same ends, and for
    ScaleLimits the same per-row ranges, end labels and captions."""
    if tuple(a) != tuple(b):
        return False
    ra, rb = getattr(a, "rows", None), getattr(b, "rows", None)
    if (ra is None) != (rb is None) or (ra is not None and not np.array_equal(ra, rb)):
        return False
    same_ends = getattr(a, "ends", None) == getattr(b, "ends", None)
    return same_ends and getattr(a, "captions", ()) == getattr(b, "captions", ())


def matrix_values(values: np.ndarray, scale: str, what: str) -> np.ndarray:
    """``values`` as a new float64 matrix (a vector becomes one row), ``scale`` checked;
    ValueError naming ``what`` shows them otherwise."""
    v = np.array(values, dtype=np.float64, copy=True)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2:
        raise ValueError(f"{what} shows a 2-D matrix, not an array of shape {v.shape}")
    if scale not in ("signed", "unit"):
        raise ValueError(f"scale must be 'signed' or 'unit', not {scale!r}")
    return v


def default_limits(v: np.ndarray, scale: str) -> tuple[float, float]:
    """Honest colour limits: ±max|finite| for 'signed' (±1 when all are 0), 0..1 for 'unit'."""
    if scale == "unit":
        return (0.0, 1.0)
    finite = np.abs(v[np.isfinite(v)])
    m = float(finite.max()) if finite.size else 0.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


def to_rgba(values: np.ndarray, scale: str, limits: tuple[float, float], theme: str = "dark") -> np.ndarray:
    """rows × cols × 4 uint8 image of ``values`` under ``limits`` on ``theme``; special cells
    get their fill.

    ``limits`` is (lo, hi), or a ScaleLimits with one (lo, hi) per row (``rows``). Values
    outside the limits clip to the ends (the limits come from the data, so only 'unit' can
    clip, and weights lie in 0..1).
    """
    table = _LUTS.get((scale, theme))
    if table is None:
        table = _LUTS[(scale, theme)] = lut(scale, theme)
    rows = getattr(limits, "rows", None)
    lo: float | np.ndarray
    hi: float | np.ndarray
    if rows is not None and rows.shape[0] == np.shape(values)[0]:
        lo, hi = rows[:, :1], rows[:, 1:]  # one range per row, broadcast along the columns
    else:
        lo, hi = float(limits[0]), float(limits[1])
    finite = np.isfinite(values)
    t = np.where(finite, values, lo).astype(np.float64)
    # Divide by the larger limit first so that limits near ±1.8e308 cannot overflow hi − lo.
    big = np.maximum(np.abs(lo), np.abs(hi))
    big = np.where(big > 0, big, 1.0)
    t, lo_s, hi_s = t / big, lo / big, hi / big
    span = np.where(hi_s > lo_s, hi_s - lo_s, 1.0)
    t = np.where(hi_s > lo_s, (t - lo_s) / span, 0.5)
    idx = np.clip(np.rint(t * (LUT_SIZE - 1)), 0, LUT_SIZE - 1).astype(np.intp)
    rgba = table[idx]
    rgba[np.isneginf(values)] = (*MASKED_FILL, 255)
    rgba[np.isnan(values) | np.isposinf(values)] = (*WARN_FILL, 255)
    return rgba


def _linear(c: np.ndarray) -> np.ndarray:
    """sRGB channel values (0 … 1) to linear light (WCAG)."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# Every 8-bit channel value's linear light: the same numbers as _linear gives, looked up
# (the power took 7 ms for a 256 × 256 image on each edit).
_LINEAR_8BIT = _linear(np.arange(256, dtype=np.float64) / 255.0)


def luminance(rgba: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of each colour (0 black … 1 white)."""
    rgb = rgba[..., :3]
    lin = _LINEAR_8BIT[rgb] if rgb.dtype == np.uint8 else _linear(rgb.astype(np.float64) / 255.0)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def dark_text_on(rgba: np.ndarray) -> np.ndarray:
    """True where black text reads better than white on the cell colour (WCAG luminance)."""
    # Contrast with black (L + 0.05)/0.05 beats contrast with white 1.05/(L + 0.05) above L ≈ 0.179.
    return luminance(rgba) > 0.179


def text_contrast(rgba: np.ndarray) -> np.ndarray:
    """WCAG contrast ratio of the number printed on each colour (black or white, as
    ``dark_text_on`` picks): at least 4.58:1 whatever the colour (both meet there, at L ≈ 0.179)."""
    lum = luminance(rgba)
    return np.where(dark_text_on(rgba), (lum + 0.05) / 0.05, 1.05 / (lum + 0.05))


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
