"""Lesson steps with inheritance: each step starts from the previous step's state and
changes only what it names, so a lesson file says what changes, not everything again.

Rules (docs/lessons.md says the same to lesson authors):

- ``settings``, ``weights`` and ``direct`` merge key by key / matrix by matrix; every other
  state key replaces the inherited value.
- Rows belong to the sentence they were written for: when a step's sentence gives other
  tokens than the step before, the inherited embedding rows, direct Q/K/V and highlights
  are dropped (a word-keyed embeddings table is kept: it is looked up by word).
- Inherited matrices that no longer fit the step's settings (d_model, heads, layers) are
  dropped and come from the seed again; matrices the step itself gives must fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.lesson_schema import (
    DEFAULT_STAGE,
    HEAD_MATRICES,
    MAX_TOKENS,
    STATE_KEYS,
    StepState,
    TokenRef,
    Where,
    check_keys,
    frozen,
    highlight_cells,
    highlight_rows,
    layer_head_index,
    numbers,
    resolve_refs,
    settings_table,
    stage_name,
    text,
    token_refs,
    type_name,
    whole_number,
)
from attnstudio.core.matrices import DIRECT_MATRICES, check_matrix, direct_label, matrix_label
from attnstudio.core.settings import MAX_HEADS, MAX_LAYERS, Settings
from attnstudio.core.tokenize import tokenize
from attnstudio.core.trace import WEIGHT_SCALES
from attnstudio.core.weights import HeadWeights, LayerWeights, Weights

# A weight matrix's place: (layer, head, name) with head None for w_o; 0-based.
WeightKey = tuple[int, int | None, str]
DirectKey = tuple[int, int, str]
RESET = {"embeddings": "toy", "weights": "seeded", "direct": "none"}


@dataclass
class Changes:
    """What one table ([defaults] or a step) names, each value checked on its own."""

    given: set[str] = field(default_factory=set)
    reset: set[str] = field(default_factory=set)  # "weights" = "seeded", direct = "none"
    sentence: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    embeddings: tuple[str, Any] | None = None  # ("toy", None) | ("rows", N×d) | ("words", {word: vector})
    weights: dict[WeightKey, np.ndarray] = field(default_factory=dict)
    direct: dict[DirectKey, np.ndarray] = field(default_factory=dict)
    stage: str | None = None
    layer: int | None = None
    head: int | None = None
    rows: tuple[TokenRef, ...] = ()
    cells: tuple[tuple[TokenRef, TokenRef], ...] = ()
    weights_scale: str | None = None
    padding: tuple[TokenRef, ...] = ()
    mask_cells: tuple[tuple[TokenRef, TokenRef], ...] = ()


@dataclass
class Spec:
    """The running state in the file's own terms (refs, word tables), before resolving."""

    sentence: str | None = None
    tokens: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    embeddings: tuple[str, Any] | None = None
    weights: dict[WeightKey, np.ndarray] = field(default_factory=dict)
    direct: dict[DirectKey, np.ndarray] = field(default_factory=dict)
    stage: str = DEFAULT_STAGE
    layer: int = 0
    head: int = 0
    rows: tuple[TokenRef, ...] = ()
    cells: tuple[tuple[TokenRef, TokenRef], ...] = ()
    weights_scale: str | None = None
    padding: tuple[TokenRef, ...] = ()
    mask_cells: tuple[tuple[TokenRef, TokenRef], ...] = ()


def parse_changes(where: Where, table: dict[str, Any], allowed: tuple[str, ...]) -> Changes:
    """Check each state key ``table`` names, in isolation (shapes are checked when resolving)."""
    check_keys(where, "", table, allowed)
    ch = Changes(given={k for k in table if k in STATE_KEYS})
    if "sentence" in table:
        ch.sentence = text(where, "sentence", table["sentence"], 100_000)
    if "settings" in table:
        ch.settings = settings_table(where, table["settings"])
    if "embeddings" in table:
        ch.embeddings = _embeddings(where, table["embeddings"])
    if "weights" in table:
        weights = _weights(where, table["weights"])
        if weights is None:
            ch.reset.add("weights")
        ch.weights = weights or {}
    if "direct" in table:
        direct = _direct(where, table["direct"])
        if direct is None:
            ch.reset.add("direct")
        ch.direct = direct or {}
    if "stage" in table:
        ch.stage = stage_name(where, table["stage"])
    if "layer" in table:
        ch.layer = whole_number(where, "layer", table["layer"], 1, MAX_LAYERS) - 1
    if "head" in table:
        ch.head = whole_number(where, "head", table["head"], 1, MAX_HEADS) - 1
    if "highlight_rows" in table:
        ch.rows = highlight_rows(where, table["highlight_rows"])
    if "highlight_cells" in table:
        ch.cells = highlight_cells(where, table["highlight_cells"])
    if "weights_scale" in table:
        value = table["weights_scale"]
        if not isinstance(value, str) or value not in WEIGHT_SCALES:
            raise where.error("weights_scale", f"must be one of {', '.join(WEIGHT_SCALES)}, not {value!r}")
        ch.weights_scale = value
    if "padding" in table:
        ch.padding = token_refs(where, "padding", table["padding"])
    if "mask_cells" in table:
        ch.mask_cells = highlight_cells(where, table["mask_cells"], "mask_cells")
    return ch


def _matrix(where: Where, key: str, value: Any, label: str) -> np.ndarray:
    arr = numbers(where, key, value, 2)
    try:
        return frozen(check_matrix(label, arr))
    except AttnStudioError as exc:
        raise where.error(key, str(exc)) from None


def _reset_or_table(where: Where, key: str, value: Any, what: str) -> dict[str, Any] | None:
    if isinstance(value, str):
        if value != RESET[key]:
            raise where.error(key, f"the only text value is \"{RESET[key]}\" (back to the {what}), not {value!r}")
        return None
    if not isinstance(value, dict):
        raise where.error(key, f"must be a table of layers (e.g. [steps.{key}.layer1.head1]), not {type_name(value)}")
    return value


def _embeddings(where: Where, value: Any) -> tuple[str, Any]:
    if isinstance(value, str):
        if value != "toy":
            raise where.error("embeddings", f"the only text value is \"toy\" (the seeded toy vectors), not {value!r}")
        return ("toy", None)
    if isinstance(value, list):
        return ("rows", _matrix(where, "embeddings", value, "X (embeddings)"))
    if isinstance(value, dict):
        words: dict[str, np.ndarray] = {}
        for word, vec in value.items():
            key = f"embeddings.{word}"
            arr = numbers(where, key, vec, 1)
            try:
                check_matrix(f"the vector of '{word}'", arr[None, :])
            except AttnStudioError as exc:
                raise where.error(key, str(exc)) from None
            folded = word.casefold()
            if folded in words:
                raise where.error(key, f"'{word}' is given twice (words are matched ignoring case)")
            words[folded] = frozen(arr)
        if not words:
            raise where.error("embeddings", "the table of word vectors is empty")
        return ("words", words)
    raise where.error(
        "embeddings", f"must be a list of rows, a table of word = [vector], or \"toy\"; not {type_name(value)}"
    )


def _weights(where: Where, value: Any) -> dict[WeightKey, np.ndarray] | None:
    """The matrices a weights table gives, or None for "seeded" (drop every explicit one)."""
    table = _reset_or_table(where, "weights", value, "seeded matrices")
    if table is None:
        return None
    out: dict[WeightKey, np.ndarray] = {}
    for lname, layer in table.items():
        lkey = f"weights.{lname}"
        li = layer_head_index(where, lkey, lname, "layer", MAX_LAYERS)
        if not isinstance(layer, dict):
            raise where.error(lkey, f"must be a table of head1, head2, … and w_o, not {type_name(layer)}")
        for hname, head in layer.items():
            hkey = f"{lkey}.{hname}"
            if hname == "w_o":
                out[(li, None, "w_o")] = _matrix(where, hkey, head, f"W_O (layer {li + 1})")
                continue
            hi = layer_head_index(where, hkey, hname, "head", MAX_HEADS)
            if not isinstance(head, dict):
                raise where.error(hkey, f"must be a table of w_q, w_k, w_v, not {type_name(head)}")
            check_keys(where, f"{hkey}.", head, HEAD_MATRICES)
            for mname, m in head.items():
                label = f"{matrix_label(mname)} (layer {li + 1}, head {hi + 1})"
                out[(li, hi, mname)] = _matrix(where, f"{hkey}.{mname}", m, label)
    return out


def _direct(where: Where, value: Any) -> dict[DirectKey, np.ndarray] | None:
    """The Q/K/V a direct table gives, or None for "none" (back to X·W)."""
    table = _reset_or_table(where, "direct", value, "projections X·W")
    if table is None:
        return None
    out: dict[DirectKey, np.ndarray] = {}
    for lname, layer in table.items():
        lkey = f"direct.{lname}"
        li = layer_head_index(where, lkey, lname, "layer", MAX_LAYERS)
        if not isinstance(layer, dict):
            raise where.error(lkey, f"must be a table of head1, head2, …, not {type_name(layer)}")
        for hname, head in layer.items():
            hkey = f"{lkey}.{hname}"
            hi = layer_head_index(where, hkey, hname, "head", MAX_HEADS)
            if not isinstance(head, dict):
                raise where.error(hkey, f"must be a table of q, k, v, not {type_name(head)}")
            check_keys(where, f"{hkey}.", head, DIRECT_MATRICES)
            for mname, m in head.items():
                out[(li, hi, mname)] = _matrix(where, f"{hkey}.{mname}", m, direct_label(mname, li, hi))
    return out


def overlay(first: Changes, then: Changes) -> Changes:
    """[defaults] followed by step 1: what step 1 names wins; tables merge."""
    out = replace(first, given=first.given | then.given, reset=first.reset | then.reset)
    for key in then.given:
        if key == "settings":
            out.settings = {**first.settings, **then.settings}
        elif key in ("weights", "direct"):
            base = {} if key in then.reset else getattr(first, key)
            setattr(out, key, {**base, **getattr(then, key)})
        elif key == "highlight_rows":
            out.rows = then.rows
        elif key == "highlight_cells":
            out.cells = then.cells
        else:
            setattr(out, key, getattr(then, key))
    return out


class StepResolver:
    """Applies each step's Changes to the running Spec and resolves it to a StepState."""

    def __init__(self) -> None:
        self.spec = Spec()

    def step(self, where: Where, ch: Changes) -> StepState:
        prev = self.spec
        spec = Spec(**vars(prev))
        spec.settings = dict(prev.settings)

        if ch.sentence is not None:
            spec.sentence = ch.sentence
            try:
                spec.tokens = tuple(tokenize(ch.sentence))
            except AttnStudioError as exc:
                raise where.error("sentence", str(exc)) from None
            if len(spec.tokens) > MAX_TOKENS:
                raise where.error("sentence", f"has {len(spec.tokens)} tokens; at most {MAX_TOKENS} are allowed")
        if spec.sentence is None:
            raise where.error("sentence", "no sentence yet: give 'sentence' in [defaults] or in the first step")
        new_sentence = prev.sentence is not None and spec.tokens != prev.tokens

        spec.settings.update(ch.settings)
        try:
            settings = Settings(**spec.settings).validated()
        except AttnStudioError as exc:
            raise where.error("settings", str(exc)) from None

        embeddings = self._embeddings(where, ch, spec, settings, new_sentence)
        weights = self._weights(where, ch, spec, settings)
        direct = self._direct(where, ch, spec, settings, new_sentence)
        self._view(where, ch, spec, settings, new_sentence)
        rows, cells = self._highlights(where, spec)
        padding, mask_cells = self._masks(where, ch, spec, settings, new_sentence)
        self.spec = spec
        return StepState(
            spec.sentence, settings, embeddings, weights, direct, spec.stage,
            spec.layer, spec.head, rows, cells, spec.tokens, spec.weights_scale,
            padding, mask_cells,
        )

    def _masks(self, where: Where, ch: Changes, spec: Spec, settings: Settings,
               new_sentence: bool) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
        """The drawn masks' padding tokens and cells, 0-based (core/masks.py), each () unless
        the step's mask is its kind. Like the highlights they belong to their sentence and are
        inherited; a step that gives one must choose its mask."""
        if new_sentence:
            spec.padding, spec.mask_cells = (), ()
        for key, kind in (("padding", "padding"), ("mask_cells", "custom")):
            if key in ch.given:
                if settings.mask != kind:
                    raise where.error(key, f"applies only with settings.mask = \"{kind}\"; this step's mask is "
                                           f"\"{settings.mask}\"")
                setattr(spec, key, getattr(ch, key))
        padding = [i for ref in spec.padding for i in resolve_refs(where, "padding", ref, spec.tokens)]
        if len(set(padding)) != len(padding):
            raise where.error("padding", "names a token twice (a text names every token that has it)")
        cells = [(r, c) for a, b in spec.mask_cells
                 for r in resolve_refs(where, "mask_cells", a, spec.tokens)
                 for c in resolve_refs(where, "mask_cells", b, spec.tokens)]
        seen: set[tuple[int, int]] = set()
        for r, c in cells:
            if (r, c) in seen:
                raise where.error("mask_cells", f"names the cell [{r + 1}, {c + 1}] ({spec.tokens[r]!r}, "
                                                f"{spec.tokens[c]!r}) twice")
            seen.add((r, c))
        # Kept in the spec for a later step that chooses the mask again; shown only under it.
        return (tuple(sorted(padding)) if settings.mask == "padding" else (),
                tuple(sorted(cells)) if settings.mask == "custom" else ())

    def _embeddings(
        self, where: Where, ch: Changes, spec: Spec, settings: Settings, new_sentence: bool
    ) -> np.ndarray | None:
        n, d = len(spec.tokens), settings.d_model
        given = "embeddings" in ch.given
        if given:
            spec.embeddings = None if ch.embeddings is None or ch.embeddings[0] == "toy" else ch.embeddings
        if spec.embeddings is None:
            return None
        kind, data = spec.embeddings
        inherited = "" if given else " (inherited from an earlier step)"
        if kind == "rows":
            if not given and (new_sentence or data.shape != (n, d)):
                spec.embeddings = None  # rows of another sentence or size: back to the toy vectors
                return None
            if data.shape != (n, d):
                raise where.error(
                    "embeddings",
                    f"needs one row per token and d_model = {d} numbers per row: {n} × {d}, "
                    f"got {data.shape[0]} × {data.shape[1]}",
                )
            return data
        bad_len = sorted(w for w, v in data.items() if v.shape != (d,))
        if bad_len:
            if not given:
                spec.embeddings = None
                return None
            word = bad_len[0]
            raise where.error(f"embeddings.{word}", f"must have d_model = {d} numbers, got {data[word].shape[0]}")
        missing = [t for t in dict.fromkeys(spec.tokens) if t.casefold() not in data]
        if missing:
            raise where.error(
                "embeddings",
                f"the word table{inherited} has no vector for {', '.join(repr(t) for t in missing[:5])}"
                f"{' …' if len(missing) > 5 else ''}: give every token of the sentence a vector",
            )
        return frozen(np.stack([data[t.casefold()] for t in spec.tokens]))

    def _weights(self, where: Where, ch: Changes, spec: Spec, settings: Settings) -> Weights | None:
        d, dk = settings.d_model, settings.d_k
        kept: dict[WeightKey, np.ndarray] = {}
        if "weights" not in ch.reset:
            kept = {k: m for k, m in spec.weights.items() if _weight_fits(k, m, settings)}
        for (li, hi, name), m in ch.weights.items():
            key = f"weights.layer{li + 1}" + (f".head{hi + 1}" if hi is not None else "") + f".{name}"
            if li >= settings.layers:
                raise where.error(key, f"layer {li + 1} does not exist: settings.layers = {settings.layers}")
            if hi is not None and hi >= settings.heads:
                raise where.error(key, f"head {hi + 1} does not exist: settings.heads = {settings.heads}")
            want = (d, d) if hi is None else (d, dk)
            if m.shape != want:
                why = "d_model × d_model" if hi is None else "d_model × d_k, d_k = d_model / heads"
                raise where.error(key, f"must be {want[0]} × {want[1]} ({why}), got {m.shape[0]} × {m.shape[1]}")
            kept[(li, hi, name)] = m
        spec.weights = kept
        if not kept:
            return None
        return StepWeights(settings, kept)

    def _direct(
        self, where: Where, ch: Changes, spec: Spec, settings: Settings, new_sentence: bool
    ) -> dict[DirectKey, np.ndarray]:
        want = (len(spec.tokens), settings.d_k)
        kept: dict[DirectKey, np.ndarray] = {}
        if not new_sentence and "direct" not in ch.reset:
            kept = {
                (li, hi, m): a for (li, hi, m), a in spec.direct.items()
                if li < settings.layers and hi < settings.heads and a.shape == want
            }
        for (li, hi, name), m in ch.direct.items():
            key = f"direct.layer{li + 1}.head{hi + 1}.{name}"
            if li >= settings.layers:
                raise where.error(key, f"layer {li + 1} does not exist: settings.layers = {settings.layers}")
            if hi >= settings.heads:
                raise where.error(key, f"head {hi + 1} does not exist: settings.heads = {settings.heads}")
            if m.shape != want:
                raise where.error(
                    key, f"must be {want[0]} × {want[1]} (one row per token, d_k = {want[1]} columns), "
                    f"got {m.shape[0]} × {m.shape[1]}",
                )
            kept[(li, hi, name)] = m
        spec.direct = kept
        return dict(kept)

    def _view(self, where: Where, ch: Changes, spec: Spec, settings: Settings, new_sentence: bool) -> None:
        if ch.stage is not None:
            spec.stage = ch.stage
        if ch.weights_scale is not None:
            spec.weights_scale = ch.weights_scale
        for key, limit in (("layer", settings.layers), ("head", settings.heads)):
            value = getattr(ch, key)
            if value is not None:
                setattr(spec, key, value)
            current = getattr(spec, key)
            if current >= limit:
                inherited = "" if value is not None else " (inherited from an earlier step)"
                raise where.error(
                    key, f"{key} {current + 1}{inherited} does not exist: settings.{key}s = {limit}; "
                    f"give '{key}' from 1 to {limit}",
                )
        if new_sentence:
            spec.rows, spec.cells = (), ()
        if "highlight_rows" in ch.given:
            spec.rows = ch.rows
        if "highlight_cells" in ch.given:
            spec.cells = ch.cells

    def _highlights(self, where: Where, spec: Spec) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
        rows = [i for ref in spec.rows for i in resolve_refs(where, "highlight_rows", ref, spec.tokens)]
        cells = [
            (r, c)
            for a, b in spec.cells
            for r in resolve_refs(where, "highlight_cells", a, spec.tokens)
            for c in resolve_refs(where, "highlight_cells", b, spec.tokens)
        ]
        return tuple(dict.fromkeys(rows)), tuple(dict.fromkeys(cells))


class StepWeights(Weights):
    """A step's matrices: the seeded ones of its settings with the ones the file gives in place.

    Built on each read from the remembered seeded layers (``Weights.seeded_read_only``), never kept: a lesson
    whose 200 steps each give a matrix and another seed would otherwise seed every step
    when it is opened and hold 200 full sets (268 MB each at the largest settings). Steps
    with equal settings read the very same seeded arrays. Read-only like all lesson data:
    ``copy()`` gives an editable ``Weights``.
    """

    def __init__(self, settings: Settings, given: dict[WeightKey, np.ndarray]) -> None:
        self._settings = settings
        self._given = given

    @property
    def layers(self) -> list[LayerWeights]:
        seeded = Weights.seeded_read_only(self._settings)
        given = self._given
        return [
            LayerWeights(
                [
                    HeadWeights(*(given.get((li, hi, p), getattr(hw, p)) for p in HEAD_MATRICES))
                    for hi, hw in enumerate(lw.heads)
                ],
                given.get((li, None, "w_o"), lw.w_o),
            )
            for li, lw in enumerate(seeded.layers)
        ]

    @layers.setter
    def layers(self, value: list[LayerWeights]) -> None:
        raise AttributeError("a lesson step's weights are read-only: copy() them to edit")



def _weight_fits(key: WeightKey, m: np.ndarray, settings: Settings) -> bool:
    li, hi, _ = key
    if li >= settings.layers or (hi is not None and hi >= settings.heads):
        return False
    want = (settings.d_model, settings.d_model) if hi is None else (settings.d_model, settings.d_k)
    return m.shape == want
