"""Workspace files (``.attn``): the user's work as versioned JSON, and back as a ``Snapshot``.

A workspace holds what the user made: the sentence, every setting, the weights, the X and
direct Q/K/V overrides (each row tied to its token), the edits kept for other matrix sizes,
the stage, layer and head on view and the display options. It does not hold what is
transient (the selected row, a lesson step's highlights, the open lesson): those come
back as their defaults. Saved while a lesson is open, a workspace holds the screen as it is.

The file is data, never code: JSON read with ``json`` (never pickle, never eval), refused
before parsing when larger than ``MAX_BYTES``, and every value checked. Every problem is a
``WorkspaceError``, one line naming the file and the field. Weights are written exactly
and compactly: ``"seeded"`` when every matrix equals the seeded one bit for bit, otherwise
only the matrices that differ, each number as Python's repr (which reads back as the same
float64). docs/workspace.md describes the format.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from attnstudio.core.errors import AttnStudioError, MaskError, MatrixError, SettingsError
from attnstudio.core.file_text import FileTextError, file_text
from attnstudio.core.lesson_schema import type_name as schema_type_name
from attnstudio.core.masks import check_cells, check_padding
from attnstudio.core.matrices import DIRECT_MATRICES, check_matrix, direct_label
from attnstudio.core.settings import MAX_HEADS, Settings
from attnstudio.core.trace import STAGE_KEYS
from attnstudio.core.weights import PROJECTIONS, Weights
from attnstudio.studio import rules
from attnstudio.studio.edits import replaced, weight_name
from attnstudio.studio.inputs import DirectKey, RowOverride
from attnstudio.studio.snapshot import (
    MAX_ZOOM,
    MIN_ZOOM,
    THEMES,
    WEIGHT_SCALES,
    Snapshot,
    Stashed,
    frozen_array,
    frozen_weights,
)

__all__ = ["FORMAT", "MAX_BYTES", "SUFFIX", "VERSION", "WorkspaceError", "dumps", "load", "loads", "save",
           "to_json"]

FORMAT = "attnstudio-workspace"
# 2 added "padding" and "mask_cells"; 3 changed the seeded numbers that "seeded" and every unlisted
# matrix stand for (core/seeded.py). Versions 1 and 2 are read too, with today's seeded numbers
# (docs/workspace.md, "The version rule").
VERSION = 3
SUFFIX = ".attn"
MAX_BYTES = 64 << 20  # 64 MiB: a bigger file is refused before it is read

TOP_KEYS = ("format", "version", "sentence", "settings", "weights", "embeddings", "direct", "stash", "edited",
            "padding", "mask_cells", "stage", "layer", "head", "theme", "zoom", "weights_scale")
MASK_KEYS = ("padding", "mask_cells")  # new in version 2
SETTING_KEYS = tuple(f.name for f in dataclasses.fields(Settings))
SHAPE_KEYS = rules.SHAPE_KEYS  # the settings that name a matrix size: a stash entry's key
STASH_KEYS = (*SHAPE_KEYS, "weights", "embeddings", "direct")
WEIGHT_NAMES = (*PROJECTIONS, "w_o")
HEAD_MATRIX_KEYS = ("layer", "head", "name", "rows")
LAYER_MATRIX_KEYS = ("layer", "name", "rows")  # w_o belongs to a layer, not a head
OVERRIDE_KEYS = ("tokens", "rows")
DIRECT_KEYS = ("layer", "head", "name", "tokens", "rows")
SEEDED = "seeded"
# The snapshot's transient fields: never written, and refused when a file has them.
NOT_SAVED = ("selected_row", "highlight_rows", "highlight_cells", "lesson", "step", "before_lesson", "answers",
             "pinned")
_DEFAULT_SOURCE = "workspace"


class WorkspaceError(AttnStudioError):
    """A workspace that cannot be read or written, in one line: the file, the field, the reason.

    ``source`` names the file, ``key`` the field in it ("settings.heads", "weights[2].rows";
    None when the problem is the whole file) and ``problem`` the bare reason.
    """

    def __init__(self, source: str, problem: str, key: str | None = None) -> None:
        self.source, self.problem, self.key = str(source), str(problem), key
        where = _one_line(self.source, 300) + (f": {_one_line(key, 120)}" if key is not None else "")
        super().__init__(f"{where}: {_one_line(self.problem, 600)}")


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters (a hostile file can hold huge keys)."""
    flat = " ".join(str(text).splitlines())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---- writing ---------------------------------------------------------------------------------


def to_json(snap: Snapshot) -> dict[str, Any]:
    """The workspace of ``snap`` as plain JSON values (dicts, lists, str, int, float, bool, None).

    Layers and heads count from 1, as the window and lesson files name them.
    """
    s = snap.settings
    if not snap.weights.fits(s):
        raise WorkspaceError(_DEFAULT_SOURCE, "cannot be saved: the weights do not fit the settings")
    return {
        "format": FORMAT,
        "version": VERSION,
        "sentence": snap.sentence,
        "settings": {k: getattr(s, k) for k in SETTING_KEYS},
        "weights": _weights_json(snap.weights, s),
        "embeddings": _override_json(snap.embeddings),
        "direct": [_direct_json(key, ov) for key, ov in snap.direct],
        "stash": [_stash_json(key, entry) for key, entry in snap.stash],
        "edited": bool(snap.edited),
        "padding": [int(i) for i in snap.padding],
        "mask_cells": [[int(i), int(j)] for i, j in snap.mask_cells],
        "stage": snap.stage,
        # Within the settings: while a real model is open the view may show its layer 6 of a
        # one-layer toy work (docs/architecture.md, "Real models"); the file keeps the toy work.
        "layer": min(int(snap.layer), s.layers - 1) + 1,
        "head": min(int(snap.head), s.heads - 1) + 1,
        "theme": snap.theme,
        "zoom": snap.zoom,
        "weights_scale": snap.weights_scale,
    }


def dumps(snap: Snapshot) -> str:
    """The workspace file's text: indented JSON (each matrix row on one line), no NaN or ∞.

    Raises WorkspaceError when ``snap`` cannot be saved (a matrix holding NaN, or a file that
    would be larger than MAX_BYTES and so could not be opened again).
    """
    try:
        text = _format(to_json(snap), 0) + "\n"
    except WorkspaceError:
        raise
    except (TypeError, ValueError) as exc:
        raise WorkspaceError(_DEFAULT_SOURCE, f"cannot be saved: {exc}") from None
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise WorkspaceError(_DEFAULT_SOURCE, f"cannot be saved: it would be {size:,} bytes; a workspace may be "
                                              f"at most {MAX_BYTES:,} bytes ({MAX_BYTES >> 20} MiB)")
    return text


def save(snap: Snapshot, path: str | os.PathLike[str]) -> None:
    """Write ``snap`` to ``path`` whole or not at all (a temporary file, then a rename).

    Raises WorkspaceError naming the file when it cannot be written.
    """
    name = str(path)
    try:
        data = dumps(snap).encode("utf-8")
    except WorkspaceError as exc:
        raise WorkspaceError(name, exc.problem, exc.key) from None
    if Path(path).exists() and not Path(path).is_file() and not Path(path).is_dir():
        # The rename would replace the device or pipe itself (as root, /dev/null for everyone).
        raise WorkspaceError(name, "cannot be written: it is a device, pipe or socket, not a file")
    tmp = Path(f"{path}.saving")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(name, f"cannot be written: {exc.strerror or exc}") from None


def _rows(m: np.ndarray) -> list[list[float]]:
    return np.asarray(m, dtype=np.float64).tolist()  # type: ignore[no-any-return]


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a = np.asarray(a, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == np.asarray(b, dtype=np.float64).tobytes()


def _weights_json(w: Weights, settings: Settings) -> str | list[dict[str, Any]]:
    """"seeded", or the matrices that differ from the seeded ones (bit for bit)."""
    seeded = Weights.seeded_read_only(settings)
    out: list[dict[str, Any]] = []
    for li, (lw, sw) in enumerate(zip(w.layers, seeded.layers)):
        for hi, (hw, sh) in enumerate(zip(lw.heads, sw.heads)):
            for name in PROJECTIONS:
                m = getattr(hw, name)
                if not _same_bits(m, getattr(sh, name)):
                    out.append({"layer": li + 1, "head": hi + 1, "name": name, "rows": _rows(m)})
        if not _same_bits(lw.w_o, sw.w_o):
            out.append({"layer": li + 1, "name": "w_o", "rows": _rows(lw.w_o)})
    return out if out else SEEDED


def _override_json(ov: RowOverride | None) -> dict[str, Any] | None:
    return None if ov is None else {"tokens": list(ov.tokens), "rows": _rows(ov.matrix)}


def _direct_json(key: DirectKey, ov: RowOverride) -> dict[str, Any]:
    layer, head, name = key
    return {"layer": int(layer) + 1, "head": int(head) + 1, "name": name, "tokens": list(ov.tokens),
            "rows": _rows(ov.matrix)}


def _stash_json(key: tuple[int, int, int, int], entry: Stashed) -> dict[str, Any]:
    d_model, heads, layers, seed = key
    weights, emb, direct = entry
    shape = Settings(d_model=d_model, heads=heads, layers=layers, seed=seed)
    return {"d_model": d_model, "heads": heads, "layers": layers, "seed": seed,
            "weights": _weights_json(weights, shape), "embeddings": _override_json(emb),
            "direct": [_direct_json(k, ov) for k, ov in direct]}


def _scalar(v: Any) -> str:
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: escaped, so it reads back the same
            return json.dumps(v, ensure_ascii=True)
        return json.dumps(v, ensure_ascii=False)
    return json.dumps(v, allow_nan=False)


def _format(v: Any, depth: int) -> str:
    """JSON, indented by 2 per level, with a list of plain values (a matrix row, the tokens)
    on one line."""
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = [f"{inner}{_scalar(str(k))}: {_format(x, depth + 1)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(v, list):
        if all(not isinstance(x, (dict, list, str)) for x in v):  # a matrix row: one call
            return json.dumps(v, allow_nan=False)
        if all(not isinstance(x, (dict, list)) for x in v):
            return "[" + ", ".join(_scalar(x) for x in v) + "]"
        return "[\n" + ",\n".join(inner + _format(x, depth + 1) for x in v) + "\n" + pad + "]"
    return _scalar(v)


# ---- reading ---------------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> Snapshot:
    """The workspace in the file at ``path``; WorkspaceError (never another exception) when it
    cannot be read or is not a workspace this version understands."""
    return loads(_file_bytes(path), str(path))


def _file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the workspace file at ``path`` (at most the size limit + 1); WorkspaceError
    when it cannot be read."""
    name = str(path)
    p = Path(path)
    try:
        if not p.exists():
            raise WorkspaceError(name, "no such file")
        if not p.is_file():
            raise WorkspaceError(name, "is not a file")
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise WorkspaceError(name, _too_big(size))
        with p.open("rb") as fh:  # at most the limit + 1: the file may grow meanwhile
            return fh.read(MAX_BYTES + 1)
    except WorkspaceError:
        raise
    except OSError as exc:
        raise WorkspaceError(name, f"cannot be read: {exc.strerror or exc}") from None
    except ValueError:  # a path with a NUL character in it
        raise WorkspaceError(name, "is not a usable file name") from None


def settings_in(path: str | os.PathLike[str]) -> Settings | None:
    """The settings a workspace file names, read without building its matrices; None when the
    file cannot say (``load`` then reports why).

    The window asks first: a workspace of a large model is opened after a worker thread has
    seeded its matrices (docs/architecture.md, "Seeding")."""
    try:
        doc = json.loads(_decode(_file_bytes(path), str(path)), object_pairs_hook=_object)
        return _Reader(str(path)).settings("settings", doc["settings"])
    except (AttnStudioError, ValueError, TypeError, KeyError, RecursionError):
        return None


def loads(text_or_bytes: str | bytes, source: str) -> Snapshot:
    """The workspace in ``text_or_bytes`` (UTF-8 bytes or text); ``source`` names it in messages.

    The arrays of the snapshot are read-only. The selected row, highlights and lesson are
    not part of a workspace: they come back as -1, () and None.
    """
    source = str(source)
    text = _decode(text_or_bytes, source)
    if not text.strip():
        raise WorkspaceError(source, "is empty: a workspace is a JSON object")
    try:
        doc = json.loads(text, object_pairs_hook=_object)
    except _DuplicateKeyError as exc:
        raise WorkspaceError(source, f"is not a valid workspace: the key '{_one_line(exc.key, 80)}' appears twice "
                                     "in one object") from None
    except json.JSONDecodeError as exc:
        # A string runs on to the end only when its closing quote is missing.
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        hint = "; is the file cut short?" if cut else ""
        raise WorkspaceError(source, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
                                     f"{hint}") from None
    except RecursionError:
        raise WorkspaceError(source, "is not valid JSON for a workspace: lists or objects are nested too "
                                     "deeply") from None
    except ValueError:  # int() refuses numbers of more than 4300 digits
        raise WorkspaceError(source, "is not valid JSON for a workspace: it holds a number too long to "
                                     "read") from None
    return _Reader(source).snapshot(doc)


def _too_big(size: int) -> str:
    return (f"is {size:,} bytes; a workspace may be at most {MAX_BYTES:,} bytes ({MAX_BYTES >> 20} MiB): "
            "is it a workspace file?")


def _decode(text_or_bytes: Any, source: str) -> str:
    if not isinstance(text_or_bytes, (bytes, bytearray, memoryview, str)):
        raise WorkspaceError(source, f"expected the text of a workspace file, not {type(text_or_bytes).__name__}")
    try:
        return file_text(text_or_bytes, MAX_BYTES, _too_big, ": is it a workspace file?")
    except FileTextError as exc:
        raise WorkspaceError(source, str(exc)) from None


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKeyError(k)
        out[k] = v
    return out


def type_name(value: Any) -> str:
    """How a JSON value's type is called in messages (the lesson files' words; a dict is an object)."""
    return schema_type_name(value, mapping="an object")


def _show(value: Any) -> str:
    """A value for a message: short, one line; null, true and false as JSON writes them."""
    if isinstance(value, (dict, list)):
        return type_name(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return _one_line(repr(value), 60)


def _seeded(settings: Settings) -> Weights:
    """The seeded matrices, read-only and shared (core.weights remembers them)."""
    return Weights.seeded_read_only(settings)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Reader:
    """Checks one document, turning every problem into a WorkspaceError that names the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str | None, problem: str) -> WorkspaceError:
        return WorkspaceError(self.source, problem, key)

    # -- structure ---------------------------------------------------------------------------
    def obj(self, key: str, value: Any, allowed: tuple[str, ...], required: tuple[str, ...] | None = None
            ) -> dict[str, Any]:
        """``value`` as an object with exactly the keys ``required`` (default: all ``allowed``)."""
        if not isinstance(value, dict):
            raise self.error(key, f"must be an object {{...}}, not {type_name(value)}")
        prefix = f"{key}." if key else ""
        for k in value:
            if not prefix and k in NOT_SAVED:
                raise self.error(k, "unknown key: a workspace does not keep the selected row, the highlights "
                                    "or the open lesson")
            if k not in allowed:
                close = difflib.get_close_matches(str(k), allowed, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
                raise self.error(f"{prefix}{k}", f"unknown key ({hint})")
        for k in allowed if required is None else required:
            if k not in value:
                raise self.error(f"{prefix}{k}", "is missing")
        return value

    def lst(self, key: str, value: Any, limit: int | None = None) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(key, f"must be a list [...], not {type_name(value)}")
        if limit is not None and len(value) > limit:
            raise self.error(key, f"holds {len(value)} entries; at most {limit} are allowed")
        return value

    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"must be text, not {type_name(value)}")
        return value

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {_show(value)}")
        return value

    def whole(self, key: str, value: Any, low: int, high: int, what: str = "") -> int:
        if not _is_int(value) or not low <= value <= high:
            raise self.error(key, f"must be a whole number from {low} to {high}{what}, not {_show(value)}")
        return int(value)

    def choice(self, key: str, value: Any, allowed: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise self.error(key, f"must be one of {', '.join(allowed)}, not {_show(value)}")
        return value

    # -- the document ------------------------------------------------------------------------
    def snapshot(self, doc: Any) -> Snapshot:
        if not isinstance(doc, dict):
            raise self.error(None, f"is not an attnstudio workspace: expected a JSON object {{...}}, not "
                                   f"{type_name(doc)}")
        if doc.get("format") != FORMAT:
            got = f"its \"format\" is {_show(doc['format'])}" if "format" in doc else "it has no \"format\""
            raise self.error(None, f"is not an attnstudio workspace ({got}; expected \"{FORMAT}\")")
        if "version" not in doc:
            raise self.error("version", "is missing")
        version = doc["version"]
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            raise self.error("version", f"written by a newer attnstudio: version {version}; this one reads "
                                        f"{VERSION}")
        if not _is_int(version) or not 1 <= version <= VERSION:
            raise self.error("version", f"must be 1 to {VERSION}, not {_show(version)}")
        self.obj("", doc, TOP_KEYS if version >= 2 else tuple(k for k in TOP_KEYS if k not in MASK_KEYS))

        settings = self.settings("settings", doc["settings"])
        sentence = self.text("sentence", doc["sentence"])
        weights = self.weights("weights", doc["weights"], settings)
        emb = self.override("embeddings", doc["embeddings"], settings)
        direct = self.direct("direct", doc["direct"], settings)
        stash = self.stash("stash", doc["stash"])
        edited = self.boolean("edited", doc["edited"])
        n = len(rules.tokens_of(sentence))
        padding = self.padding("padding", doc.get("padding", []), n)
        mask_cells = self.mask_cells("mask_cells", doc.get("mask_cells", []), n)
        stage = self.choice("stage", doc["stage"], STAGE_KEYS)
        layer = self.whole("layer", doc["layer"], 1, settings.layers, " (the settings' layers)") - 1
        head = self.whole("head", doc["head"], 1, settings.heads, " (the settings' heads)") - 1
        theme = self.choice("theme", doc["theme"], THEMES)
        zoom = doc["zoom"]
        if isinstance(zoom, bool) or not isinstance(zoom, (int, float)) or not MIN_ZOOM <= zoom <= MAX_ZOOM:
            raise self.error("zoom", f"must be a number from {MIN_ZOOM:g} to {MAX_ZOOM:g}, not {_show(zoom)}")
        scale = self.choice("weights_scale", doc["weights_scale"], WEIGHT_SCALES)
        snap = Snapshot(sentence=sentence, settings=settings, weights=weights, embeddings=emb, direct=direct,
                        stash=stash, edited=edited, padding=padding, mask_cells=mask_cells, stage=stage,
                        layer=layer, head=head, theme=theme, zoom=float(zoom), weights_scale=scale)
        try:
            rules.check_snapshot(snap)
        except AttnStudioError as exc:
            raise self.error(None, f"does not fit together: {exc}") from None
        return snap

    def settings(self, key: str, value: Any) -> Settings:
        table = self.obj(key, value, SETTING_KEYS)
        return self.checked_settings(key, table, SETTING_KEYS)

    def checked_settings(self, key: str, table: dict[str, Any], names: tuple[str, ...]) -> Settings:
        """Settings from ``table[names]``, each value checked on its own, then together."""
        for name in names:
            v = table[name]
            probe: dict[str, Any] = {name: v}
            if name == "heads" and _is_int(v) and 1 <= v <= MAX_HEADS:
                probe["d_model"] = v  # a d_model the heads divide: only the heads are judged here
            self._setting(f"{key}.{name}", name, probe)
        return self._setting(f"{key}.heads", "", {name: table[name] for name in names})

    def _setting(self, key: str, name: str, fields: dict[str, Any]) -> Settings:
        try:
            return Settings(**fields).validated()
        except SettingsError as exc:
            problem = str(exc)
            if name and problem.startswith(f"{name} "):
                problem = problem[len(name) + 1:]
            raise self.error(key, problem) from None

    def matrix(self, key: str, value: Any, shape: tuple[int, int], label: str) -> np.ndarray:
        """A read-only float64 matrix of ``shape`` from a list of rows of numbers."""
        rows = self.lst(key, value)
        width = None
        for r, row in enumerate(rows, start=1):
            if not isinstance(row, list):
                raise self.error(key, f"{label}: row {r} must be a list of numbers, not {type_name(row)}")
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise self.error(key, f"{label}: row {r} has {len(row)} numbers but row 1 has {width}: every "
                                      "row needs the same length")
            if not all(type(c) is float or type(c) is int for c in row):
                c = next(i for i, x in enumerate(row, start=1) if isinstance(x, bool) or
                         not isinstance(x, (int, float)))
                raise self.error(key, f"{label}: row {r}, column {c} must be a number, not {type_name(row[c - 1])}")
        try:
            arr = np.array(rows, dtype=np.float64) if rows else np.zeros((0, shape[1]))
        except OverflowError:
            # an integer beyond float64 (10**400): named by check_matrix as too large
            arr = np.array([[c if abs(c) < 1e300 else 1e300 for c in row] for row in rows], dtype=np.float64)
        if not rows and shape[0]:
            raise self.error(key, f"{label} must be {shape[0]} × {shape[1]}, got no rows")
        if rows and width == 0:
            raise self.error(key, f"{label} must be {shape[0]} × {shape[1]}, got rows of no numbers")
        try:
            return frozen_array(check_matrix(label, arr, shape))
        except MatrixError as exc:
            raise self.error(key, str(exc)) from None

    def tokens(self, key: str, value: Any) -> tuple[str, ...]:
        tokens = self.lst(key, value)
        for i, t in enumerate(tokens, start=1):
            if not isinstance(t, str):
                raise self.error(key, f"token {i} must be text, not {type_name(t)}")
        return tuple(tokens)

    def weights(self, key: str, value: Any, settings: Settings) -> Weights:
        """"seeded", or a list of matrices that replace seeded ones."""
        if isinstance(value, str):
            if value != SEEDED:
                raise self.error(key, f"must be \"{SEEDED}\" or a list of matrices, not {_show(value)}")
            return _seeded(settings)
        if not isinstance(value, list):
            raise self.error(key, f"must be \"{SEEDED}\" or a list of matrices, not {type_name(value)}")
        entries = value
        found: list[tuple[int, int, str, np.ndarray]] = []
        seen: set[tuple[int, int, str]] = set()
        for i, entry in enumerate(entries):
            where = f"{key}[{i}]"
            if not isinstance(entry, dict):
                raise self.error(where, f"must be an object {{...}}, not {type_name(entry)}")
            if "name" not in entry:
                raise self.error(f"{where}.name", "is missing")
            name = self.choice(f"{where}.name", entry["name"], WEIGHT_NAMES)
            self.obj(where, entry, HEAD_MATRIX_KEYS if name != "w_o" else LAYER_MATRIX_KEYS)
            layer = self.whole(f"{where}.layer", entry["layer"], 1, settings.layers, " (the settings' layers)") - 1
            head = 0 if name == "w_o" else \
                self.whole(f"{where}.head", entry["head"], 1, settings.heads, " (the settings' heads)") - 1
            label = weight_name(name, layer, head)
            if (layer, head, name) in seen:
                raise self.error(where, f"{label} is given twice")
            seen.add((layer, head, name))
            shape = (settings.d_model, settings.d_model if name == "w_o" else settings.d_k)
            found.append((layer, head, name, self.matrix(f"{where}.rows", entry["rows"], shape, label)))
        weights = _seeded(settings)
        for layer, head, name, m in found:
            weights = replaced(weights, layer, head, name, m)
        return frozen_weights(weights)

    def override(self, key: str, value: Any, settings: Settings) -> RowOverride | None:
        """The X override: null, or {"tokens", "rows"} of len(tokens) × d_model."""
        if value is None:
            return None
        entry = self.obj(key, value, OVERRIDE_KEYS)
        tokens = self.tokens(f"{key}.tokens", entry["tokens"])
        m = self.matrix(f"{key}.rows", entry["rows"], (len(tokens), settings.d_model), "X (embeddings)")
        return RowOverride(m, tokens)

    def direct(self, key: str, value: Any, settings: Settings) -> tuple[tuple[DirectKey, RowOverride], ...]:
        entries = self.lst(key, value, limit=settings.layers * settings.heads * len(DIRECT_MATRICES))
        out: list[tuple[DirectKey, RowOverride]] = []
        for i, entry in enumerate(entries):
            where = f"{key}[{i}]"
            self.obj(where, entry, DIRECT_KEYS)
            layer = self.whole(f"{where}.layer", entry["layer"], 1, settings.layers, " (the settings' layers)") - 1
            head = self.whole(f"{where}.head", entry["head"], 1, settings.heads, " (the settings' heads)") - 1
            name = self.choice(f"{where}.name", entry["name"], DIRECT_MATRICES)
            label = direct_label(name, layer, head)
            if any(k == (layer, head, name) for k, _ in out):
                raise self.error(where, f"{label} is given twice")
            tokens = self.tokens(f"{where}.tokens", entry["tokens"])
            m = self.matrix(f"{where}.rows", entry["rows"], (len(tokens), settings.d_k), label)
            out.append(((layer, head, name), RowOverride(m, tokens)))
        return tuple(out)

    def padding(self, key: str, value: Any, n: int) -> tuple[int, ...]:
        """The padding tokens: a list of token positions (from 0), each once."""
        entries = self.lst(key, value, limit=max(n, 0))
        for i, v in enumerate(entries):
            self.whole(f"{key}[{i}]", v, 0, n - 1, f" (a token position; the sentence has {n} tokens)") \
                if n else self._no_tokens(key)
        try:
            return check_padding(entries, n)
        except MaskError as exc:
            raise self.error(key, str(exc)) from None

    def mask_cells(self, key: str, value: Any, n: int) -> tuple[tuple[int, int], ...]:
        """The custom mask's cells: a list of [query, key] token positions (from 0), each once."""
        entries = self.lst(key, value, limit=n * n)
        for i, pair in enumerate(entries):
            where = f"{key}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.error(where, f"must be a [query, key] pair of token positions, not {_show(pair)}")
            if not n:
                self._no_tokens(key)
            for v in pair:
                self.whole(where, v, 0, n - 1, f" (a token position; the sentence has {n} tokens)")
        try:
            return check_cells([tuple(p) for p in entries], n)
        except MaskError as exc:
            raise self.error(key, str(exc)) from None

    def _no_tokens(self, key: str) -> None:
        raise self.error(key, "must be empty: the sentence has no tokens")

    def stash(self, key: str, value: Any) -> tuple[tuple[tuple[int, int, int, int], Stashed], ...]:
        """The edits kept for other matrix sizes, oldest first."""
        entries = self.lst(key, value, limit=rules.STASH_SIZES)
        out: list[tuple[tuple[int, int, int, int], Stashed]] = []
        for i, entry in enumerate(entries):
            where = f"{key}[{i}]"
            self.obj(where, entry, STASH_KEYS)
            shape = self.checked_settings(where, entry, SHAPE_KEYS)
            shape_key = rules.shape_key(shape)
            if any(k == shape_key for k, _ in out):
                raise self.error(where, "the edits for these sizes (d_model, heads, layers, seed) are given twice")
            weights = self.weights(f"{where}.weights", entry["weights"], shape)
            emb = self.override(f"{where}.embeddings", entry["embeddings"], shape)
            direct = self.direct(f"{where}.direct", entry["direct"], shape)
            out.append((shape_key, (weights, emb, direct)))
        return tuple(out)

