"""The settings panel: sizes, switches, temperature, seed, backend, head/layer on view, theme
and the weights' colour scale.

Widgets mirror the studio model (``sync``) and send changes to it; a change it refuses is
reported (``message``) and the widget snaps back. Heads are offered only as divisors of
d_model and d_model steps by the number of heads, so the panel cannot build an invalid
combination in the first place.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.normalizers import NORMALIZERS
from attnstudio.core.settings import BACKENDS, MASKS, MAX_D_MODEL, MAX_HEADS, MAX_LAYERS
from attnstudio.qt.qt_studio import QtStudio
from attnstudio.studio.rules import SHAPE_KEYS
from attnstudio.studio.snapshot import THEMES, WEIGHT_SCALES

T_MIN, T_MAX = 0.05, 5.0
SLIDER_STEPS = 400  # slider positions from T_MIN to T_MAX, evenly spaced in log T


def slider_to_temperature(pos: int) -> float:
    """Slider position → T on a log scale, rounded to what the label shows."""
    t = T_MIN * (T_MAX / T_MIN) ** (pos / SLIDER_STEPS)
    # Two significant digits: the positions are 1.2 % apart, and T = 1 lands on exactly 1.
    return float(f"{t:.2g}")


def temperature_to_slider(t: float) -> int:
    t = min(max(t, T_MIN), T_MAX)
    return round(SLIDER_STEPS * math.log(t / T_MIN) / math.log(T_MAX / T_MIN))


def divisors(n: int, limit: int = MAX_HEADS) -> list[int]:
    return [h for h in range(1, min(n, limit) + 1) if n % h == 0]


# What each of core.settings.MASKS hides, as the mask list's tooltips (core/masks.py).
MASK_TIPS = (
    "none: every token sees every token",
    "causal: a token cannot see the tokens after it",
    "padding: no query sees a padding token; click a token (or a column of the Masked stage) to mark it",
    "custom: the cells you click on the Masked stage",
)


class Controls(QWidget):
    """Every setting of the computation plus what is on view (layer, head) and how (theme,
    weights' colours)."""

    message = Signal(str)

    def __init__(self, studio_qt: QtStudio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio_qt.model
        self._seeding = studio_qt.seeding
        self._syncing = False
        self.d_model = QSpinBox(self)
        self.d_model.setRange(1, MAX_D_MODEL)
        self.heads = QComboBox(self)
        self.layers = QSpinBox(self)
        self.layers.setRange(1, MAX_LAYERS)
        self.temperature = QSlider(Qt.Orientation.Horizontal, self)
        self.temperature.setRange(0, SLIDER_STEPS)
        self.temperature_label = QLabel(self)
        self.temperature_label.setMinimumWidth(64)
        self.scale = QCheckBox("divide by √d_k", self)
        self.mask = QComboBox(self)
        self.mask.addItems(list(MASKS))
        for i, tip in enumerate(MASK_TIPS):
            self.mask.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.mask.setToolTip("Which keys each query may not see (−∞ before the normalizer, weight 0 after)")
        self.normalizer = QComboBox(self)
        self.normalizer.addItems(list(NORMALIZERS))
        self.positional = QCheckBox("add sinusoidal P", self)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        self.backend = QComboBox(self)
        self.backend.addItems(list(BACKENDS))
        self.layer = QComboBox(self)
        self.head = QComboBox(self)
        self.theme = QComboBox(self)
        self.theme.addItems(["dark", "light (projector)"])
        self.weights_scale = QComboBox(self)
        # In the order of WEIGHT_SCALES ("unit", "max", "row").
        self.weights_scale.addItems(["0 … 1", "0 … largest weight", "per row: 0 … row max"])
        self.weights_scale.setToolTip("Colour the weights over 0 … 1 (comparable between matrices), stretch\n"
                                      "the colours to the matrix's largest weight so that small weights differ,\n"
                                      "or stretch each row to its own largest weight (every row's pattern shows,\n"
                                      "but a flat row looks as strong as a sharp one)")

        t_row = QHBoxLayout()
        t_row.addWidget(self.temperature, 1)
        t_row.addWidget(self.temperature_label)
        form = QFormLayout(self)
        form.setContentsMargins(6, 6, 6, 6)
        self._form, self._t_row = form, t_row
        self.fixed_note = QLabel(self)  # while a real model is open: why settings are greyed
        self.fixed_note.setWordWrap(True)
        self.fixed_note.hide()
        form.addRow(self.fixed_note)
        form.addRow("Layer on view", self.layer)
        form.addRow("Head on view", self.head)
        form.addRow("Temperature T", t_row)
        form.addRow("Scaling", self.scale)
        form.addRow("Mask", self.mask)
        form.addRow("Normalizer", self.normalizer)
        form.addRow("Positions", self.positional)
        form.addRow("d_model", self.d_model)
        form.addRow("Heads", self.heads)
        form.addRow("Layers", self.layers)
        form.addRow("Seed", self.seed)
        form.addRow("Backend", self.backend)
        form.addRow("Theme", self.theme)
        form.addRow("Weights colours", self.weights_scale)

        self.d_model.valueChanged.connect(lambda v: self._set(d_model=v))
        self.heads.currentIndexChanged.connect(lambda _i: self._set(heads=self.heads.currentData()))
        self.layers.valueChanged.connect(lambda v: self._set(layers=v))
        self.temperature.valueChanged.connect(self._on_temperature)
        self.scale.toggled.connect(lambda on: self._set(scale=on))
        self.mask.currentTextChanged.connect(lambda t: self._set(mask=t))
        self.normalizer.currentTextChanged.connect(lambda t: self._set(normalizer=t))
        self.positional.toggled.connect(lambda on: self._set(positional=on))
        self.seed.valueChanged.connect(lambda v: self._set(seed=v))
        self.backend.currentTextChanged.connect(lambda t: self._set(backend=t))
        self.layer.currentIndexChanged.connect(self._on_view)
        self.head.currentIndexChanged.connect(self._on_view)
        self.theme.currentIndexChanged.connect(lambda i: self._show(theme=THEMES[i]))
        self.weights_scale.currentIndexChanged.connect(lambda i: self._show(weights_scale=WEIGHT_SCALES[i]))
        for signal in (studio_qt.changed, studio_qt.view_changed, studio_qt.display_changed):
            signal.connect(self.sync)
        self.sync()

    def set_temperature(self, t: float) -> None:
        """Move the slider to T (what a drag does)."""
        self.temperature.setValue(temperature_to_slider(t))

    def _set(self, **changes) -> None:
        if self._syncing:
            return
        if any(k in changes for k in SHAPE_KEYS):  # new matrices: seeded first, off the UI thread
            self._seeding.run("settings:" + ",".join(sorted(changes)),
                              lambda: [self.studio.settings.with_(**changes)], lambda: self._apply(changes))
            return
        self._apply(changes)

    def _apply(self, changes: dict) -> None:
        try:
            self.studio.set_setting(**changes)
        except AttnStudioError as exc:
            self.message.emit(str(exc))
            self.sync()

    def _show(self, **display) -> None:
        if not self._syncing:
            self.studio.apply(**display)

    def _on_temperature(self, pos: int) -> None:
        t = slider_to_temperature(pos)
        self.temperature_label.setText(f"{t:.3g}")
        self._set(temperature=t)

    def _on_view(self, _i: int) -> None:
        if not self._syncing:
            self.studio.set_view(layer=max(0, self.layer.currentIndex()), head=max(0, self.head.currentIndex()))

    def sync(self) -> None:
        """Show what the model holds, without sending anything back."""
        st = self.studio
        s = st.settings
        self._syncing = True
        try:
            self.d_model.setValue(s.d_model)
            self.d_model.setSingleStep(s.heads)
            if [self.heads.itemData(i) for i in range(self.heads.count())] != divisors(s.d_model):
                self.heads.clear()
                for h in divisors(s.d_model):
                    self.heads.addItem(f"{h}  (d_k = {s.d_model // h})", h)
            self.heads.setCurrentIndex(self.heads.findData(s.heads))
            self.layers.setValue(s.layers)
            if slider_to_temperature(self.temperature.value()) != s.temperature:
                self.temperature.setValue(temperature_to_slider(s.temperature))
            self.temperature_label.setText(f"{s.temperature:.3g}")
            self.scale.setChecked(s.scale)
            self.mask.setCurrentText(s.mask)
            self.normalizer.setCurrentText(s.normalizer)
            self.positional.setChecked(s.positional)
            self.seed.setValue(s.seed)
            self.backend.setCurrentText(s.backend)
            layers, heads = st.view_sizes()  # a real model's while one is open
            _fill(self.layer, [f"layer {i + 1}" for i in range(layers)], st.layer)
            _fill(self.head, [f"head {i + 1}" for i in range(heads)], st.head)
            # What a real model fixes cannot be set while it is open (File ▸ Close Model).
            fixed = st.real is not None
            # Its rows go (the toy's values there would be read as the model's); the note says
            # what the model computes instead.
            for w in (self.temperature, self.scale, self.mask, self.normalizer, self.positional, self.d_model,
                      self.heads, self.layers, self.seed):
                w.setEnabled(not fixed)
                self._form.setRowVisible(w if w is not self.temperature else self._t_row, not fixed)
            self.fixed_note.setVisible(fixed)
            if fixed:
                i = st.real.info
                self.fixed_note.setText(
                    f"{i.name}: d_model {i.d_model}, {i.heads} heads (d_k {i.d_model // i.heads}), {i.layers} "
                    f"layers, softmax(QKᵀ/√d_k), no mask, learned positions. The toy model's settings come "
                    "back with File ▸ Close Model (or a click on its name in the status bar).")
            self.theme.setCurrentIndex(THEMES.index(st.theme))
            self.weights_scale.setCurrentIndex(WEIGHT_SCALES.index(st.weights_scale))
        finally:
            self._syncing = False


def _fill(combo: QComboBox, items: list[str], current: int) -> None:
    if [combo.itemText(i) for i in range(combo.count())] != items:
        combo.clear()
        combo.addItems(items)
    combo.setCurrentIndex(current)
